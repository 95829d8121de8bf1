// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_link_alias - the ownership tag on links vsockdump creates: format
 * and parse agree, foreign or kept aliases are never taken for ours, and a
 * process's start time identifies it (a dead pid has none).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "link.h"
#include "unit-check.h"

static void test_round_trip(void)
{
	char alias[96];
	unsigned long long start;
	int pid;

	link_format_owner_alias(alias, sizeof(alias), 4242, 987654321ULL);
	CHECK(strncmp(alias, LINK_OWNER_ALIAS_PREFIX, strlen(LINK_OWNER_ALIAS_PREFIX)) == 0,
	      "alias starts with the owner prefix");
	CHECK(link_parse_owner_alias(alias, &pid, &start), "own alias parses");
	CHECK(pid == 4242 && start == 987654321ULL, "pid and start survive");
}

static void test_foreign_aliases(void)
{
	static const char *const foreign[] = {
		"", "my monitor", "vsockdump kept (created by pid 12)",
		"vsockdump owner", "vsockdump owner pid=abc start=1",
		"vsockdump owner pid=12", "vsockdump owner pid=12 start=3 extra",
		"vsockdump owner pid=0 start=3", "vsockdump owner pid=-5 start=3",
		"xvsockdump owner pid=12 start=3",
	};
	unsigned long long start;
	int pid;

	CHECK(!link_parse_owner_alias(NULL, &pid, &start), "NULL alias is not ours");
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		if (link_parse_owner_alias(foreign[i], &pid, &start)) {
			printf("FAIL: '%s' taken for an owner alias\n", foreign[i]);
			failures++;
		}
	}
}

static void test_start_time(void)
{
	unsigned long long self = link_process_start_time(getpid());
	pid_t child;

	CHECK(self != 0, "own start time is known");
	CHECK(link_process_start_time(getpid()) == self, "start time is stable");
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	CHECK(link_process_start_time(child) == 0, "a reaped child has no start time");
}

int main(void)
{
	test_round_trip();
	test_foreign_aliases();
	test_start_time();
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
