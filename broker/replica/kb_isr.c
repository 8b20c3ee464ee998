/*
 * kb_isr.c - the ISR rules of a partition leader (see kb_isr.h).
 */
#include "broker/replica/kb_isr.h"

#include <stddef.h>

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

void kb_follower_reset(kb_follower_t *f, bool in_isr, bool new_leadership, int64_t leader_leo, int64_t now_ms) {
    f->last_caught_up_ms = in_isr ? now_ms : KB_ISR_NEVER;
    f->last_fetch_ms = now_ms;
    f->last_fetch_leader_leo = leader_leo;
    if (new_leadership) {
        /* What it fetched from an earlier leader says nothing about now. */
        f->leo = KB_OFFSET_UNKNOWN;
        f->last_fetch_ms = KB_ISR_NEVER;
        f->last_fetch_leader_leo = KB_OFFSET_UNKNOWN;
    }
}

void kb_follower_fetched(kb_follower_t *f, int64_t fetch_offset, int64_t leader_leo, int64_t now_ms) {
    if (fetch_offset >= leader_leo)
        f->last_caught_up_ms = max64(f->last_caught_up_ms, now_ms);
    else if (fetch_offset >= f->last_fetch_leader_leo)
        f->last_caught_up_ms = max64(f->last_caught_up_ms, f->last_fetch_ms);
    f->leo = fetch_offset;
    f->last_fetch_leader_leo = leader_leo;
    f->last_fetch_ms = now_ms;
}

bool kb_isr_out_of_sync(const kb_follower_t *f, int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms) {
    if (f->leo != KB_OFFSET_UNKNOWN && f->leo == leader_leo) return false;
    return f->last_caught_up_ms == KB_ISR_NEVER || now_ms - f->last_caught_up_ms > max_lag_ms;
}

const kb_follower_t *kb_follower_find(const kb_follower_t *followers, int n, int32_t id) {
    for (int i = 0; i < n; i++)
        if (followers[i].broker_id == id) return &followers[i];
    return NULL;
}

int kb_isr_shrink(const int32_t *isr, int n_isr, int32_t leader, const kb_follower_t *followers, int n_followers,
                  int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms, int32_t *out) {
    bool leader_in_isr = false;
    int n = 0;
    for (int i = 0; i < n_isr; i++) {
        if (isr[i] == leader) {
            leader_in_isr = true;
            out[n++] = isr[i];
            continue;
        }
        const kb_follower_t *f = kb_follower_find(followers, n_followers, isr[i]);
        if (f && !kb_isr_out_of_sync(f, leader_leo, now_ms, max_lag_ms)) out[n++] = isr[i];
    }
    return leader_in_isr ? n : -1;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static bool is_member(const int32_t *isr, int n_isr, int32_t id) {
    for (int i = 0; i < n_isr; i++)
        if (isr[i] == id) return true;
    return false;
}

int64_t kb_isr_hw_candidate(const int32_t *isr, int n_isr, int32_t leader, const kb_follower_t *followers,
                            int n_followers, int64_t leader_leo, int64_t now_ms, int64_t max_lag_ms) {
    int64_t hw = leader_leo;
    for (int i = 0; i < n_isr; i++)
        if (isr[i] != leader && !kb_follower_find(followers, n_followers, isr[i])) return KB_OFFSET_UNKNOWN;
    for (int i = 0; i < n_followers; i++) {
        const kb_follower_t *f = &followers[i];
        bool counts = is_member(isr, n_isr, f->broker_id) ||
                      (f->last_caught_up_ms != KB_ISR_NEVER && now_ms - f->last_caught_up_ms <= max_lag_ms);
        if (counts) hw = min64(hw, f->leo);
    }
    return hw;
}

bool kb_isr_may_join(const kb_follower_t *f, int64_t high_watermark, int64_t epoch_start_offset) {
    return f->leo != KB_OFFSET_UNKNOWN && f->leo >= high_watermark && f->leo >= epoch_start_offset;
}

bool kb_isr_publish_due(bool pending, int64_t last_change_ms, int64_t last_publish_ms, int64_t now_ms) {
    return pending && (now_ms - last_change_ms > KB_ISR_PUBLISH_QUIET_MS ||
                       now_ms - last_publish_ms > KB_ISR_PUBLISH_MAX_DELAY_MS);
}

int64_t kb_isr_check_interval_ms(int64_t max_lag_ms) { return max64(max_lag_ms / 2, 1); }
