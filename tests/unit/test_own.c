/* test_own.c - ownership records: one holder at a time, a lab that is up
 * refuses a fresh claim, undo stops only the processes it started (pid and
 * start time) and deletes the record; record lines are parsed strictly.
 * No root needed: records live in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "run/own.h"

static char dir[] = "/tmp/twlab-own-test-XXXXXX";

static int setup(void **st)
{
	(void)st;
	if (!mkdtemp(dir))
		return -1;
	own_set_dir(dir);
	return 0;
}

static int teardown(void **st)
{
	char cmd[100];
	(void)st;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void one_holder_at_a_time_and_an_up_lab_refuses_a_fresh_claim(void **st)
{
	(void)st;
	struct own a = { .fd = -1 }, b = { .fd = -1 };
	struct own_record rec;
	char err[300];
	bool locked;
	pid_t kid = sleeper();

	assert_int_equal(own_claim(&a, "lab-t1-", true, err, sizeof err), 0);
	assert_int_equal(a.state, OWN_HELD);
	assert_int_equal(own_add_proc(&a, kid), 0);
	/* held: another claim (even to tear down) is refused */
	assert_int_equal(own_claim(&b, "lab-t1-", false, err, sizeof err), -1);
	assert_int_equal(b.state, OWN_REFUSED);
	assert_non_null(strstr(err, "in use"));
	assert_true(own_read("lab-t1-", &rec, &locked));
	assert_true(locked);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.creator, getpid());
	/* released, the lab stays up: a fresh claim is refused, changing nothing */
	own_release(&a);
	assert_int_equal(own_claim(&b, "lab-t1-", true, err, sizeof err), -2);
	assert_int_equal(b.state, OWN_REFUSED);
	assert_true(own_read("lab-t1-", &rec, &locked));
	assert_false(locked);
	assert_int_equal(rec.n, 1);
	/* a refused claim's undo does nothing */
	struct runner R = { 0 };
	assert_int_equal(own_undo(&b, &R, NULL, 0), 0);
	assert_int_equal(kill(kid, 0), 0);
	/* lab down: claim the existing record, undo it */
	struct own c = { .fd = -1 };
	assert_int_equal(own_claim(&c, "lab-t1-", false, err, sizeof err), 0);
	assert_int_equal(own_undo(&c, &R, NULL, 0), 0);
	assert_int_equal(kill(kid, 0), -1);          /* stopped (and reaped: our child) */
	assert_false(own_read("lab-t1-", &rec, &locked));          /* record gone */
}

static void undo_leaves_a_process_whose_start_time_is_not_the_recorded_one(void **st)
{
	(void)st;
	struct own o = { .fd = -1 };
	struct runner R = { 0 };
	char err[300], line[80], path[300];
	pid_t kid = sleeper();
	FILE *f;

	assert_int_equal(own_claim(&o, "lab-t2-", true, err, sizeof err), 0);
	/* the same pid, another start time: a reused pid, not ours */
	snprintf(path, sizeof path, "%s/lab-t2-.rec", dir);
	snprintf(line, sizeof line, "proc %d %llu\n", (int)kid, own_proc_start(kid) + 1);
	assert_non_null(f = fopen(path, "a"));
	fputs(line, f);
	fclose(f);
	assert_int_equal(own_undo(&o, &R, NULL, 0), 0);
	assert_int_equal(kill(kid, 0), 0);                          /* still alive */
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

static void record_lines_are_parsed_strictly(void **st)
{
	(void)st;
	struct own_record rec;
	const char *bad[] = { "netns ../x 1 2", "netns a/b 1 2", "netns a 1", "proc 1 5", "proc 0 5",
			      "proc 12 0", "nft a 1 2", "nft a 1 2 b;c", "bogus 1", "", "twlab-own 2 token x pid 1",
			      NULL };
	memset(&rec, 0, sizeof rec);
	for (int i = 0; bad[i]; i++)
		assert_false(own_parse_line(bad[i], &rec));
	assert_int_equal(rec.n, 0);
	assert_true(own_parse_line("twlab-own 1 token abc123 pid 77", &rec));
	assert_string_equal(rec.token, "abc123");
	assert_int_equal(rec.creator, 77);
	assert_true(own_parse_line("netns twl-fw 4 4026532177", &rec));
	assert_true(own_parse_line("proc 4242 987654", &rec));
	assert_true(own_parse_line("nft twl-c1 4 4026532384 twlab_craft_99", &rec));
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.item[0].kind, OWN_NETNS);
	assert_string_equal(rec.item[0].name, "twl-fw");
	assert_true(rec.item[0].ino == 4026532177ull);
	assert_int_equal(rec.item[1].pid, 4242);
	assert_string_equal(rec.item[2].table, "twlab_craft_99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_holder_at_a_time_and_an_up_lab_refuses_a_fresh_claim),
		cmocka_unit_test(undo_leaves_a_process_whose_start_time_is_not_the_recorded_one),
		cmocka_unit_test(record_lines_are_parsed_strictly),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
