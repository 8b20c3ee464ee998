#!/usr/bin/env node
/*
 * reassign.js - KafkaJS's admin client asking for partition reassignments
 * (AlterPartitionReassignments) and listing them
 * (ListPartitionReassignments), for tests/integration/test_zs_reassign.py.
 * KafkaJS is the one client of the suite that has both APIs: it finds the
 * controller through Metadata and sends them there, retrying on
 * NOT_CONTROLLER.
 *
 *   node reassign.js alter --brokers H:P,H:P --topics JSON
 *        JSON: [{"topic":T,"partitionAssignment":[{"partition":P,"replicas":[..]}]}]
 *   node reassign.js list --brokers H:P,H:P [--topics JSON]
 *        JSON: [{"topic":T,"partitions":[P,..]}]; without it, every ongoing one
 *
 * stdout carries one JSON object: {"ok":true} or {"topics":[...]} (KafkaJS's
 * answer), or {"error":NAME,"message":..,"errors":[{"topic","partition","type"}]}
 * when KafkaJS reports a failure (exit status 1).
 */
'use strict'

const { Kafka, logLevel } = require('kafkajs')

function parseArgs(argv) {
  const out = { command: argv[0] }
  for (let i = 1; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1]
  return out
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const kafka = new Kafka({
    clientId: 'kafkajs-reassign',
    brokers: args.brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (args.command === 'alter') {
      await admin.alterPartitionReassignments({ topics: JSON.parse(args.topics), timeout: 30000 })
      console.log(JSON.stringify({ ok: true }))
    } else if (args.command === 'list') {
      const topics = args.topics ? JSON.parse(args.topics) : null
      const res = await admin.listPartitionReassignments({ topics, timeout: 30000 })
      console.log(JSON.stringify(res))
    } else {
      throw new Error(`unknown command ${args.command}`)
    }
  } finally {
    await admin.disconnect()
  }
}

main().catch(e => {
  const errors = (e.errors || []).map(x => ({ topic: x.topic, partition: x.partition, type: x.type }))
  console.log(JSON.stringify({ error: e.name, type: e.type, message: e.message, errors }))
  process.exit(1)
})
