/*
 * own.c - ownership records (see own.h): claim, append, read, undo.
 *
 * Locks are OFD locks (fcntl F_OFD_SETLK): held by the open file, released
 * when the process exits however it exits, testable without taking them
 * (F_OFD_GETLK, for `lab status`), and not inherited by the commands we
 * spawn (the descriptor is O_CLOEXEC).
 */
#include "run/own.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char own_dir[200] = "/run/twlab";

void own_set_dir(const char *dir)
{
	snprintf(own_dir, sizeof own_dir, "%s", dir);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= OWN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return s[0] != '.';
}

unsigned long long own_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) state ppid ...": comm may hold anything, so count the
	 * fields after the last ')'; start time is field 22 */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;
	for (int field = 3; field <= 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
		if (field == 22 && p)
			start = strtoull(p, NULL, 10);
	}
	return start;
}

bool own_parse_line(const char *line, struct own_record *rec)
{
	struct own_item it;
	char kind[16], a[OWN_NAME_MAX], b[OWN_NAME_MAX], tok[40];
	unsigned long long x, y;
	int pid;

	memset(&it, 0, sizeof it);
	if (sscanf(line, "%15s", kind) != 1)
		return false;
	if (!strcmp(kind, "twlab-own")) {
		if (sscanf(line, "twlab-own 1 token %39s pid %d", tok, &pid) != 2 || pid <= 0)
			return false;
		memcpy(rec->token, tok, sizeof tok);
		rec->creator = pid;
		return true;
	}
	if (rec->n >= OWN_MAX_ITEMS)
		return false;
	if (!strcmp(kind, "netns")) {
		if (sscanf(line, "netns %63s %llu %llu", a, &x, &y) != 3 || !name_ok(a))
			return false;
		it.kind = OWN_NETNS;
		memcpy(it.name, a, sizeof a);
		it.dev = x;
		it.ino = y;
	} else if (!strcmp(kind, "proc")) {
		if (sscanf(line, "proc %d %llu", &pid, &x) != 2 || pid <= 1 || !x)
			return false;
		it.kind = OWN_PROC;
		it.pid = pid;
		it.start = x;
	} else if (!strcmp(kind, "nft")) {
		if (sscanf(line, "nft %63s %llu %llu %63s", a, &x, &y, b) != 4 || !name_ok(a) || !name_ok(b))
			return false;
		it.kind = OWN_NFT;
		memcpy(it.name, a, sizeof a);
		memcpy(it.table, b, sizeof b);
		it.dev = x;
		it.ino = y;
	} else {
		return false;
	}
	rec->item[rec->n++] = it;
	return true;
}

/* The record's lines into rec; false if it could not be read whole. */
static bool parse_fd(int fd, struct own_record *rec)
{
	const size_t cap = OWN_MAX_ITEMS * 160;
	char *buf = malloc(cap), *line, *save;
	ssize_t n;
	size_t used = 0;

	memset(rec, 0, sizeof *rec);
	if (!buf)
		return false;
	while (used < cap - 1 && (n = pread(fd, buf + used, cap - 1 - used, (off_t)used)) > 0)
		used += (size_t)n;
	buf[used] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		own_parse_line(line, rec);
	free(buf);
	return true;
}

static int lock(int fd, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

static bool is_locked(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

static int append(struct own *o, const char *line)
{
	size_t n = strlen(line);
	if (o->state != OWN_HELD)
		return 0;
	if (o->n >= OWN_MAX_ITEMS) {
		errno = ENOSPC;               /* beyond what undo would read back */
		return -1;
	}
	if (lseek(o->fd, 0, SEEK_END) < 0 || write(o->fd, line, n) != (ssize_t)n)
		return -1;
	o->n++;
	fdatasync(o->fd);
	return 0;
}

int own_claim(struct own *o, const char *name, bool fresh, char *err, size_t errlen)
{
	struct own_record *rec;
	struct stat a, b;

	if (o->state == OWN_HELD)
		return 0;
	o->fd = -1;
	if (!name_ok(name)) {
		snprintf(err, errlen, "record name '%s' not allowed", name);
		goto refused;
	}
	if (mkdir(own_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", own_dir, strerror(errno));
		goto refused;
	}
	snprintf(o->path, sizeof o->path, "%s/%s.rec", own_dir, name);
	for (int tries = 0;; tries++) {
		o->fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (o->fd < 0) {
			snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
			goto refused;
		}
		if (lock(o->fd, false) < 0) {
			struct own_record *r = malloc(sizeof *r);
			if (r)
				parse_fd(o->fd, r);
			snprintf(err, errlen, "in use by a running twlab (pid %d, record %s)",
				 r ? (int)r->creator : 0, o->path);
			free(r);
			close(o->fd);
			o->fd = -1;
			o->state = OWN_REFUSED;
			return -1;
		}
		/* a record removed between our open and our lock is not it */
		if (fstat(o->fd, &a) == 0 && stat(o->path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			break;
		close(o->fd);
		if (tries == 10) {
			snprintf(err, errlen, "%s: keeps changing", o->path);
			o->fd = -1;
			goto refused;
		}
	}
	if (!(rec = malloc(sizeof *rec))) {
		snprintf(err, errlen, "out of memory");
		goto refused_close;
	}
	parse_fd(o->fd, rec);
	if (fresh && rec->n) {
		snprintf(err, errlen, "%u things created by twlab pid %d, record %s",
			 rec->n, (int)rec->creator, o->path);
		free(rec);
		close(o->fd);
		o->fd = -1;
		o->state = OWN_REFUSED;
		return -2;
	}
	o->n = rec->n;
	if (rec->token[0]) {
		memcpy(o->token, rec->token, sizeof o->token);
	} else {
		unsigned char r[12];
		char line[128];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			free(rec);
			goto refused_close;
		}
		for (size_t i = 0; i < sizeof r; i++)
			snprintf(o->token + 2 * i, 3, "%02x", r[i]);
		snprintf(line, sizeof line, "twlab-own 1 token %s pid %d\n", o->token, (int)getpid());
		if (ftruncate(o->fd, 0) < 0 || pwrite(o->fd, line, strlen(line), 0) != (ssize_t)strlen(line)) {
			snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
			free(rec);
			goto refused_close;
		}
	}
	free(rec);
	o->state = OWN_HELD;
	return 0;
refused_close:
	close(o->fd);
	o->fd = -1;
refused:
	o->state = OWN_REFUSED;
	return -1;
}

void own_release(struct own *o)
{
	if (o->state == OWN_HELD)
		close(o->fd);
	o->fd = -1;
	o->state = OWN_NONE;
}

static int ns_id(const char *ns, uint64_t *dev, uint64_t *ino)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof path, "/run/netns/%s", ns);
	if (stat(path, &st) < 0)
		return -1;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

int own_add_netns(struct own *o, const struct runner *R, const char *ns)
{
	struct runner quiet = { .verbose = R->verbose };
	char alias[64], line[200];
	uint64_t dev, ino;

	if (o->state != OWN_HELD)
		return 0;
	snprintf(alias, sizeof alias, "twlab:%s", o->token);
	const char *mark[] = { "ip", "-n", ns, "link", "set", "dev", "lo", "alias", alias, NULL };
	const char *del[] = { "ip", "netns", "del", ns, NULL };
	if (!name_ok(ns) || ns_id(ns, &dev, &ino) < 0 || run_cmd(&quiet, mark, NULL) != 0) {
		/* just created by us, not yet recorded: remove it now */
		run_cmd(&quiet, del, NULL);
		return -1;
	}
	snprintf(line, sizeof line, "netns %s %llu %llu\n", ns, (unsigned long long)dev,
		 (unsigned long long)ino);
	return append(o, line);
}

int own_add_proc(struct own *o, pid_t pid)
{
	char line[80];
	unsigned long long st = own_proc_start(pid);
	if (o->state != OWN_HELD || !st)
		return 0;
	snprintf(line, sizeof line, "proc %d %llu\n", (int)pid, st);
	return append(o, line);
}

int own_add_nft(struct own *o, const char *ns, const char *table)
{
	char line[200];
	uint64_t dev, ino;
	if (o->state != OWN_HELD)
		return 0;
	if (!name_ok(ns) || !name_ok(table) || ns_id(ns, &dev, &ino) < 0)
		return -1;
	snprintf(line, sizeof line, "nft %s %llu %llu %s\n", ns, (unsigned long long)dev,
		 (unsigned long long)ino, table);
	return append(o, line);
}

bool own_read(const char *name, struct own_record *rec, bool *locked)
{
	char path[300];
	int fd;

	memset(rec, 0, sizeof *rec);
	*locked = false;
	if (!name_ok(name))
		return false;
	snprintf(path, sizeof path, "%s/%s.rec", own_dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return false;
	*locked = is_locked(fd);
	parse_fd(fd, rec);
	close(fd);
	return true;
}

bool own_netns_is_ours(const struct own_record *rec, const struct own_item *it)
{
	char out[4096], want[64];
	uint64_t dev, ino;

	if (ns_id(it->name, &dev, &ino) < 0 || dev != it->dev || ino != it->ino)
		return false;
	/* the inode number of a freed namespace can come back: the mark says
	 * this one is still the namespace we made */
	const char *show[] = { "ip", "-n", it->name, "-o", "link", "show", "dev", "lo", NULL };
	if (run_read(show, out, sizeof out) != 0)
		return false;
	snprintf(want, sizeof want, " alias twlab:%s", rec->token);
	return rec->token[0] && strstr(out, want) != NULL;
}

/* Stop a process we recorded, if it is still that process. */
static void stop_recorded(const struct runner *R, const struct own_item *it)
{
	struct pollfd p = { .events = POLLIN };
	int st;

	if (R->verbose || R->dry_run)
		fprintf(stderr, "kill %d   # recorded, start time %llu\n", (int)it->pid, it->start);
	if (R->dry_run)
		return;
	if ((p.fd = pidfd_open(it->pid, 0)) < 0)
		return;                               /* gone */
	/* the pidfd now pins one process; check it is the one we started */
	if (own_proc_start(it->pid) != it->start) {
		close(p.fd);
		return;
	}
	pidfd_send_signal(p.fd, SIGTERM, NULL, 0);
	if (poll(&p, 1, 2000) <= 0) {
		pidfd_send_signal(p.fd, SIGKILL, NULL, 0);
		poll(&p, 1, 2000);
	}
	close(p.fd);
	waitpid(it->pid, &st, WNOHANG);               /* ours to reap, if our child */
}

static void add_name(char *names, size_t len, const char *n)
{
	size_t used = strlen(names);
	if (used < len)
		snprintf(names + used, len - used, "%s%s", used ? " " : "", n);
}

static int undo_fd(struct own *o, const struct runner *R, char *names, size_t len)
{
	struct own_record *rec = malloc(sizeof *rec);
	struct runner quiet = { .verbose = R->verbose, .dry_run = R->dry_run };
	sigset_t block, old;
	int rc = 0;

	if (names && len)
		names[0] = 0;
	if (!rec)
		return -1;
	parse_fd(o->fd, rec);
	/* a second Ctrl-C must not stop the teardown half way */
	run_guarded_set(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (unsigned i = rec->n; i-- > 0;)
		if (rec->item[i].kind == OWN_PROC)
			stop_recorded(R, &rec->item[i]);
	for (unsigned i = rec->n; i-- > 0;) {
		const struct own_item *it = &rec->item[i];
		uint64_t dev, ino;
		if (it->kind != OWN_NFT || ns_id(it->name, &dev, &ino) < 0 || dev != it->dev || ino != it->ino)
			continue;
		const char *list[] = { "ip", "netns", "exec", it->name, "nft", "list", "table", "ip", it->table, NULL };
		const char *del[] = { "ip", "netns", "exec", it->name, "nft", "delete", "table", "ip", it->table, NULL };
		char out[64];
		if (!R->dry_run && run_read(list, out, sizeof out) != 0)
			continue;                         /* gone already */
		if (run_cmd(&quiet, del, NULL) != 0)
			rc = -1;
	}
	for (unsigned i = rec->n; i-- > 0;) {
		const struct own_item *it = &rec->item[i];
		if (it->kind != OWN_NETNS || !own_netns_is_ours(rec, it))
			continue;                         /* gone, or someone else's now */
		const char *del[] = { "ip", "netns", "del", it->name, NULL };
		if (run_cmd(&quiet, del, NULL) != 0)
			rc = -1;
		else if (names)
			add_name(names, len, it->name);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(rec);
	if (rc == 0 && !R->dry_run)
		unlink(o->path);
	return rc;
}

int own_undo(struct own *o, const struct runner *R, char *names, size_t len)
{
	int rc;
	if (o->state != OWN_HELD) {
		if (names && len)
			names[0] = 0;
		return 0;
	}
	rc = undo_fd(o, R, names, len);
	own_release(o);
	return rc;
}

unsigned own_undo_stale_crafts(const struct runner *R, const char *ns_prefix)
{
	DIR *d = opendir(own_dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct own o = { .state = OWN_NONE, .fd = -1 };
		struct own_record *rec;
		bool match = false;
		size_t l = strlen(e->d_name);

		if (strncmp(e->d_name, "craft-", 6) || l < 5 || strcmp(e->d_name + l - 4, ".rec"))
			continue;
		snprintf(o.path, sizeof o.path, "%s/%s", own_dir, e->d_name);
		if ((o.fd = open(o.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		struct stat a, b;
		if (lock(o.fd, false) < 0 || fstat(o.fd, &a) < 0 || stat(o.path, &b) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev || !(rec = malloc(sizeof *rec))) {
			close(o.fd);      /* its craft is still running, or it just finished */
			continue;
		}
		parse_fd(o.fd, rec);
		for (unsigned i = 0; i < rec->n; i++)
			if (rec->item[i].kind != OWN_PROC &&
			    !strncmp(rec->item[i].name, ns_prefix, strlen(ns_prefix)))
				match = true;
		free(rec);
		if (match) {
			o.state = OWN_HELD;
			if (undo_fd(&o, R, NULL, 0) == 0)
				n++;
		}
		close(o.fd);
	}
	closedir(d);
	return n;
}
