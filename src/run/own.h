/*
 * own.h - what twlab created, recorded, so that it removes exactly that.
 *
 * A record is a file /run/twlab/NAME.rec ("lab-<prefix>" for a lab,
 * "craft-<pid>" for a craft run), locked (an OFD lock) for as long as a
 * twlab process works on it. Lines, appended as things are created:
 *
 *   twlab-own 1 token <hex> pid <creator pid>
 *   netns <name> <dev> <ino>          a namespace we added; its loopback
 *                                     carries the alias "twlab:<token>"
 *   proc <pid> <start time>           a process we started (/proc/PID/stat
 *                                     field 22, so a reused pid is not it)
 *   nft <ns> <dev> <ino> <table>      an nft table we added in namespace ns
 *
 * Undoing a record acts only on what still is what was recorded: a
 * namespace whose mount is the recorded inode and carries our mark, a
 * process whose start time matches (signalled through a pidfd), a table in
 * the recorded namespace. Anything else with a similar name is left alone.
 */
#ifndef TWLAB_OWN_H
#define TWLAB_OWN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/run.h"

#define OWN_NAME_MAX 64
#define OWN_MAX_ITEMS 1024         /* lines a record holds; more are refused */

enum own_state { OWN_NONE, OWN_HELD, OWN_REFUSED };

struct own {
	enum own_state state;        /* REFUSED: a claim failed, undo does nothing */
	int fd;                      /* the record, locked while held */
	char path[512];
	char token[40];
	unsigned n;                  /* items recorded */
};

enum own_kind { OWN_NETNS, OWN_PROC, OWN_NFT };
struct own_item {
	enum own_kind kind;
	char name[OWN_NAME_MAX];     /* netns: its name; nft: the namespace */
	char table[OWN_NAME_MAX];    /* nft only */
	uint64_t dev, ino;           /* netns, nft: the namespace's identity */
	pid_t pid;                   /* proc */
	unsigned long long start;
};

struct own_record {
	char token[40];
	pid_t creator;
	unsigned n;
	struct own_item item[OWN_MAX_ITEMS];
};

/* Where records live (default /run/twlab; unit tests point it elsewhere). */
void own_set_dir(const char *dir);

/* Claim record NAME and lock it. fresh: refuse when it already lists
 * anything (a lab is up: "lab down" first); always refuse when another
 * twlab holds it. On refusal o->state = OWN_REFUSED and nothing changed. */
int own_claim(struct own *o, const char *name, bool fresh, char *err, size_t errlen);
/* Release the lock; the record stays (a lab that stays up). */
void own_release(struct own *o);

int own_add_netns(struct own *o, const struct runner *R, const char *ns);
int own_add_proc(struct own *o, pid_t pid);
int own_add_nft(struct own *o, const char *ns, const char *table);

/* Read a record (held or not); false if there is none. locked: another
 * process holds it now. */
bool own_read(const char *name, struct own_record *rec, bool *locked);
/* Parse one line into it; false if it is not a record line. */
bool own_parse_line(const char *line, struct own_record *rec);

/* Is namespace item i of rec still the one we created (mount + mark)? */
bool own_netns_is_ours(const struct own_record *rec, const struct own_item *it);

/* Undo a held record, newest first, then delete it. names gets the
 * namespaces removed (space separated). 0, or -1 if something recorded and
 * still ours could not be removed (the record is kept for another try). */
int own_undo(struct own *o, const struct runner *R, char *names, size_t len);
/* Undo every craft record whose craft has gone (its lock is free) and
 * that touched a namespace whose name starts with ns_prefix. */
unsigned own_undo_stale_crafts(const struct runner *R, const char *ns_prefix);

/* /proc/PID/stat start time, 0 if the process does not exist. */
unsigned long long own_proc_start(pid_t pid);
#endif
