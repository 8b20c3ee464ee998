/*
 * test_names.c - Kafka's topic name rules (common/kc_names.c): which names are
 * legal, the one-line reason given for an illegal one, internal topics, and
 * the '.'/'_' metric-name collision check.
 */
#include <check.h>
#include <string.h>

#include "common/kc_names.h"
#include "tests/unit/unit.h"

/* Asserts name is refused with a reason containing `fragment`. */
static void assert_refused(const char *name, const char *fragment) {
    char why[512] = "";
    ck_assert_msg(!kc_topic_name_valid(name, why, sizeof(why)), "accepted '%s'", name);
    ck_assert_msg(strstr(why, fragment) != NULL, "reason '%s' lacks '%s'", why, fragment);
    ck_assert_ptr_null(strchr(why, '\n'));
}

START_TEST(legal_names_are_accepted) {
    const char *legal[] = {"a", "orders", "Orders.v1_x-Y", "__consumer_offsets", "0", "...",
                           "a..b", "-", NULL};
    char why[128];
    for (int i = 0; legal[i]; i++)
        ck_assert_msg(kc_topic_name_valid(legal[i], why, sizeof(why)), "refused '%s'", legal[i]);
}
END_TEST

START_TEST(name_of_249_characters_is_accepted) {
    char name[KC_TOPIC_NAME_MAX + 1];
    memset(name, 'x', KC_TOPIC_NAME_MAX);
    name[KC_TOPIC_NAME_MAX] = '\0';
    ck_assert(kc_topic_name_valid(name, NULL, 0));
}
END_TEST

START_TEST(name_of_250_characters_is_refused) {
    char name[KC_TOPIC_NAME_MAX + 2];
    memset(name, 'x', KC_TOPIC_NAME_MAX + 1);
    name[KC_TOPIC_NAME_MAX + 1] = '\0';
    assert_refused(name, "longer than the maximum 249");
}
END_TEST

START_TEST(illegal_characters_are_refused_and_named) {
    assert_refused("a b", "topic name 'a b' contains illegal character ' '");
    assert_refused("a/b", "illegal character '/'");
    assert_refused("a*", "illegal character '*'");
    assert_refused("a:b", "illegal character ':'");
    assert_refused("caf\xc3\xa9", "illegal character 0xc3");
    assert_refused("tab\there", "illegal character 0x09");
}
END_TEST

START_TEST(dot_and_dot_dot_are_refused) {
    assert_refused(".", "cannot be '.'");
    assert_refused("..", "cannot be '..'");
}
END_TEST

START_TEST(empty_name_is_refused) {
    assert_refused("", "empty");
    ck_assert(!kc_topic_name_valid(NULL, NULL, 0));
}
END_TEST

START_TEST(reason_is_optional) {
    ck_assert(!kc_topic_name_valid("a b", NULL, 0));
    char tiny[4] = "xyz";
    ck_assert(!kc_topic_name_valid("a b", tiny, sizeof(tiny)));
    ck_assert_uint_eq(strlen(tiny), 3);
}
END_TEST

START_TEST(internal_topics_are_recognised) {
    ck_assert(kc_topic_is_internal("__consumer_offsets"));
    ck_assert(kc_topic_is_internal("__transaction_state"));
    ck_assert(!kc_topic_is_internal("__consumer_offsets2"));
    ck_assert(!kc_topic_is_internal("orders"));
}
END_TEST

START_TEST(dot_and_underscore_collide) {
    ck_assert(kc_topic_names_collide("a.b", "a_b"));
    ck_assert(kc_topic_names_collide("a_b", "a.b"));
    ck_assert(kc_topic_names_collide("x.y_z", "x_y.z"));
}
END_TEST

START_TEST(distinct_names_do_not_collide) {
    ck_assert(!kc_topic_names_collide("a.b", "a.b"));
    ck_assert(!kc_topic_names_collide("a.b", "a-b"));
    ck_assert(!kc_topic_names_collide("a.b", "a_bc"));
    ck_assert(!kc_topic_names_collide("orders", "payments"));
}
END_TEST

Suite *names_suite(void) {
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("validity");
    tcase_add_test(tc, legal_names_are_accepted);
    tcase_add_test(tc, name_of_249_characters_is_accepted);
    tcase_add_test(tc, name_of_250_characters_is_refused);
    tcase_add_test(tc, illegal_characters_are_refused_and_named);
    tcase_add_test(tc, dot_and_dot_dot_are_refused);
    tcase_add_test(tc, empty_name_is_refused);
    tcase_add_test(tc, reason_is_optional);
    suite_add_tcase(s, tc);

    tc = tcase_create("internal_and_collisions");
    tcase_add_test(tc, internal_topics_are_recognised);
    tcase_add_test(tc, dot_and_underscore_collide);
    tcase_add_test(tc, distinct_names_do_not_collide);
    suite_add_tcase(s, tc);
    return s;
}
