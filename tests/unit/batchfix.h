/*
 * batchfix.h - producer batches built in the unit tests, compressed with
 * the same libraries the clients use (zlib, snappy, liblz4, libzstd), for
 * the suites that read records inside batches (test_records.c) and the log
 * suites that search them (test_log.c).
 */
#ifndef KB_BATCHFIX_H
#define KB_BATCHFIX_H

#include <stddef.h>
#include <stdint.h>

/* n records with offset deltas 0..n-1, timestamps ts + i * ts_step, a null
 * key and value_len bytes of 'v' each, compressed with codec (KP_CODEC_*);
 * base offset 0, CreateTime, no producer id, correct CRC.  A malloc'd
 * buffer of *size bytes. */
uint8_t *batchfix_build(int codec, int n, size_t value_len, int64_t ts, int64_t ts_step, size_t *size);

/* At most this many bytes besides its value per record written here. */
#define BATCHFIX_RECORD_OVERHEAD 40

/* One such record at p (its length prefix included); returns its end. */
uint8_t *batchfix_record(uint8_t *p, int offset_delta, int64_t ts_delta, size_t value_len);

/* The records of n such records, uncompressed (what batchfix_build
 * compresses): a malloc'd buffer of *size bytes. */
uint8_t *batchfix_records(int n, size_t value_len, int64_t ts_step, size_t *size);

/* A batch around an arbitrary payload: header fields as above with
 * records_count n and the given codec attribute, correct CRC. */
uint8_t *batchfix_wrap(int codec, int n, int64_t ts, const uint8_t *payload, size_t len, size_t *size);

/* Compresses in[0, n) with codec into a malloc'd buffer of *out_len bytes
 * (snappy: a raw block, as librdkafka writes). */
uint8_t *batchfix_compress(int codec, const uint8_t *in, size_t n, size_t *out_len);

#endif
