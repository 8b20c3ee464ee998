#!/usr/bin/env node
/*
 * group_consumer.js - one KafkaJS consumer-group member, for the integration
 * scenarios of tests/integration/test_zm_kafkajs_groups.py.
 *
 * KafkaJS is the third client family kbroker's group coordinator must serve
 * (group-protocol.md 1.1, 5.3): it offers only "RoundRobinAssigner", sends
 * JoinGroup v5 with MEMBER_ID_REQUIRED, and commits with OffsetCommit v5.
 * This script drives it the way an application would, and prints what it
 * saw so that the test can check it against the broker's own view.
 *
 * It joins --group with KafkaJS's RoundRobinAssigner, subscribes to --topic
 * from the beginning and reads with eachBatch, autoCommit off: every record
 * is resolved as it is read, and every batch ends with an explicit commit of
 * what was resolved (commitOffsetsIfNecessary(uncommittedOffsets())), so
 * that a partition that moves to another member is resumed there, not read
 * again.  Once it has read --records N records (0: no target) it says so;
 * then it leaves the group and exits, or with --hold it stays in the group,
 * reading and committing whatever comes, until SIGTERM.  Before exiting it
 * reads the group's committed offsets back (OffsetFetch through KafkaJS's
 * admin client) and prints them.
 *
 *   node group_consumer.js --brokers H:P,H:P --group G --topic T
 *        [--records N] [--hold] [--client-id ID] [--deadline-ms MS]
 *
 * stdout carries one JSON object per line, nothing else:
 *   {"event":"joined","memberId":..,"leaderId":..,"isLeader":..,"protocol":..,"assignment":{"T":[0,2]}}
 *   {"event":"record","topic":..,"partition":..,"offset":..,"key":..,"value":..}
 *   {"event":"committed","generationId":..,"memberId":..,"offsets":[{"topic":..,"partition":..,"offset":..}]}
 *   {"event":"done","records":N}
 *   {"event":"crash","code":..,"type":..,"name":..,"message":..,"retriable":..,"restart":..}
 *   {"event":"group_offsets","offsets":[{"topic":..,"partition":..,"offset":..}]}
 *   {"event":"exit","code":..,"reason":..}
 * KafkaJS's own log goes to stderr.
 *
 * Every wait is bounded: the whole run by --deadline-ms (default 120000),
 * leaving the group and the final OffsetFetch by 20 s each, connections and
 * requests by KafkaJS's timeouts below.  Exit status: 0 finished (target
 * reached, or SIGTERM), 2 bad arguments, 3 deadline passed, 4 KafkaJS gave up
 * (a crash it does not restart from, e.g. INCONSISTENT_GROUP_PROTOCOL),
 * 5 leaving the group or reading the offsets back failed.
 */
'use strict'

const { Kafka, logLevel, PartitionAssigners } = require('kafkajs')

const STEP_TIMEOUT_MS = 20000

function emit(event, fields) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

function usage(message) {
  process.stderr.write(`group_consumer.js: ${message}\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { records: 0, hold: false, clientId: 'kbroker-kafkajs', deadlineMs: 120000 }
  const valued = { '--brokers': 'brokers', '--group': 'group', '--topic': 'topic',
    '--records': 'records', '--client-id': 'clientId', '--deadline-ms': 'deadlineMs' }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--hold') {
      opts.hold = true
    } else if (valued[argv[i]] && i + 1 < argv.length) {
      opts[valued[argv[i]]] = argv[++i]
    } else {
      usage(`unknown or incomplete argument ${argv[i]}`)
    }
  }
  for (const required of ['brokers', 'group', 'topic']) {
    if (!opts[required]) usage(`--${required} is required`)
  }
  opts.brokers = opts.brokers.split(',')
  opts.records = Number(opts.records)
  opts.deadlineMs = Number(opts.deadlineMs)
  if (!Number.isInteger(opts.records) || opts.records < 0) usage('--records must be a count')
  if (!Number.isInteger(opts.deadlineMs) || opts.deadlineMs <= 0) usage('--deadline-ms must be positive')
  return opts
}

// KafkaJS logs to stdout by default; the test reads stdout as events only.
function stderrLogCreator() {
  return ({ level, log }) => {
    const { message, timestamp, logger, ...extra } = log
    const name = logLevel[level] || level
    process.stderr.write(`${timestamp} kafkajs ${name} [${logger}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

// Resolves with what promise gives, or rejects once ms have passed.
function bounded(promise, ms, what) {
  let timer
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

// [{topic, partition, offset}] from KafkaJS's [{topic, partitions}]; its commit payload
// carries partitions as strings (they were object keys), the test wants numbers.
function flatOffsets(topics) {
  const out = []
  for (const { topic, partitions } of topics) {
    for (const { partition, offset } of partitions) {
      out.push({ topic, partition: Number(partition), offset: String(offset) })
    }
  }
  return out
}

function originalCause(error) {
  return error.cause ? originalCause(error.cause) : error
}

class Member {
  constructor(opts) {
    this.opts = opts
    this.count = 0
    this.doneSaid = false
    this.finishing = false
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.INFO,
      logCreator: stderrLogCreator,
      connectionTimeout: 10000,
      requestTimeout: 30000,
      retry: { initialRetryTime: 300, retries: 8 },
    })
    // Short heartbeat and fetch waits: a member learns of a rebalance
    // (REBALANCE_IN_PROGRESS on its heartbeat) within about a second.
    this.consumer = this.kafka.consumer({
      groupId: opts.group,
      partitionAssigners: [PartitionAssigners.roundRobin],
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 1000,
    })
  }

  watch() {
    const { events } = this.consumer
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => emit('joined', {
      memberId: payload.memberId, leaderId: payload.leaderId, isLeader: payload.isLeader,
      protocol: payload.groupProtocol, assignment: payload.memberAssignment,
    }))
    // Emitted only after the coordinator has acknowledged the commit.
    this.consumer.on(events.COMMIT_OFFSETS, ({ payload }) => emit('committed', {
      generationId: payload.groupGenerationId, memberId: payload.memberId,
      offsets: flatOffsets(payload.topics),
    }))
    this.consumer.on(events.CRASH, ({ payload }) => this.crashed(payload))
  }

  crashed({ error, restart }) {
    const cause = originalCause(error)
    emit('crash', { code: cause.code === undefined ? null : cause.code, type: cause.type || null,
      name: error.name, message: error.message, retriable: cause.retriable === true, restart })
    if (!restart) this.finish(4, `KafkaJS gave up: ${error.message}`)
  }

  async eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary,
    uncommittedOffsets, isRunning, isStale }) {
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break
      emit('record', { topic: batch.topic, partition: batch.partition, offset: m.offset,
        key: m.key === null ? null : m.key.toString(),
        value: m.value === null ? null : m.value.toString() })
      resolveOffset(m.offset)
      this.count += 1
    }
    await commitOffsetsIfNecessary(uncommittedOffsets())
    await heartbeat()
    this.checkTarget()
  }

  // Called after a batch's commit, so "done" always follows its commit.
  checkTarget() {
    if (this.opts.records === 0 || this.doneSaid || this.count < this.opts.records) return
    this.doneSaid = true
    emit('done', { records: this.count })
    // Not from inside eachBatch: disconnect() waits for the batch to end.
    if (!this.opts.hold) setImmediate(() => this.finish(0, 'target reached'))
  }

  async start() {
    this.watch()
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: args => this.eachBatch(args),
    })
  }

  async groupOffsets() {
    const admin = this.kafka.admin()
    await admin.connect()
    try {
      return await admin.fetchOffsets({ groupId: this.opts.group, topics: [this.opts.topic] })
    } finally {
      await admin.disconnect()
    }
  }

  // Leaves the group (LeaveGroup), prints the committed offsets, exits.
  async finish(code, reason) {
    if (this.finishing) return
    this.finishing = true
    try {
      await bounded(this.consumer.disconnect(), STEP_TIMEOUT_MS, 'leaving the group')
      const topics = await bounded(this.groupOffsets(), STEP_TIMEOUT_MS, 'OffsetFetch')
      emit('group_offsets', { offsets: flatOffsets(topics) })
    } catch (e) {
      reason = `${reason}; then ${e.message}`
      if (code === 0) code = 5
    }
    emit('exit', { code, reason })
    process.exit(code)
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2))
  const member = new Member(opts)
  setTimeout(() => {
    emit('exit', { code: 3, reason: `deadline of ${opts.deadlineMs} ms passed with ${member.count} records` })
    process.exit(3)
  }, opts.deadlineMs).unref()
  process.on('SIGTERM', () => member.finish(0, 'SIGTERM'))
  member.start().catch(e => {
    member.crashed({ error: e, restart: false })
  })
}

main()
