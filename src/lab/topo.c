/*
 * topo.c - build and remove the lab topology with ip(8), nft(8), sysctl(8).
 *
 *   client-i  198.18.i.2/24 --- 198.18.i.1  fw  198.18.200.1/24 --- 198.18.200.254 gw
 *   gw 198.19.0.254/24 --- 198.19.0.2 server
 *
 * fw: DNAT service -> server, SNAT every client to one address, conntrack
 * TIME_WAIT = [firewall] time_wait. With profile strict, a forward-chain
 * rule emulates the report's hardware firewall: a reply that is neither
 * SYN-ACK nor RST, to a conntrack entry that has not yet carried a SYN-ACK
 * (ct mark 0), is dropped; the SYN-ACK sets ct mark 1. Linux conntrack alone
 * lets that bare ACK through (its TCP tracker "ignores" it).
 * gw: forwarding, conntrack, counts INVALID packets (nft counter).
 * No namespace gets a default route: only routes to 198.18.0.0/15.
 */
#include "lab/lab.h"
#include "util/inet.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void lab_ns(const struct lab *L, const char *role, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", L->sc.prefix, role);
}

void lab_client_ns(const struct lab *L, unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "%sc%u", L->sc.prefix, i + 1);
}

bool lab_preflight(char *err, size_t errlen)
{
	static const char *tools[] = { "ip", "nft", "sysctl", "tcpdump", "curl", "python3", NULL };
	if (geteuid() != 0) {
		snprintf(err, errlen, "needs root (network namespaces, nftables)");
		return false;
	}
	if (access("/proc/self/ns/net", R_OK) != 0) {
		snprintf(err, errlen, "this kernel has no network namespace support");
		return false;
	}
	for (size_t i = 0; tools[i]; i++) {
		char cmd[64];
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tools[i]);
		if (system(cmd) != 0) {
			snprintf(err, errlen, "'%s' not found (run scripts/deps)", tools[i]);
			return false;
		}
	}
	return true;
}

unsigned lab_list(const char *prefix, char *buf, size_t len)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;
	unsigned n = 0;
	size_t used = 0;

	if (len)
		buf[0] = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || e->d_name[0] == '.')
			continue;
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", n ? " " : "", e->d_name);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	closedir(d);
	return n;
}

int lab_claim(struct lab *L, char *err, size_t errlen)
{
	char name[40], why[400];
	int r;

	if (L->dry_run || L->own.state == OWN_HELD)
		return 0;
	snprintf(name, sizeof name, "lab-%s", L->sc.prefix);
	r = own_claim(&L->own, name, true, why, sizeof why);
	if (r == -2)
		snprintf(err, errlen, "a lab with prefix '%s' is up (%s): `twlab lab down --prefix %s` first",
			 L->sc.prefix, why, L->sc.prefix);
	else if (r)
		snprintf(err, errlen, "prefix '%s': %s", L->sc.prefix, why);
	return r ? -1 : 0;
}

int lab_mkout(struct lab *L, char *err, size_t errlen)
{
	char path[sizeof L->outdir];

	if (L->dry_run)
		return 0;
	snprintf(path, sizeof path, "%s", L->outdir);
	for (char *p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (!(*p = c))
			break;
	}
	return 0;
}

int lab_down_names(struct lab *L, char *names, size_t len, char *err, size_t errlen)
{
	struct runner R = lab_runner(L);
	char name[40], why[400];
	int rc = 0;

	if (len)
		names[0] = 0;
	if (L->own.state == OWN_REFUSED)
		return 0;                /* a refused run touches nothing */
	for (unsigned i = 0; i < L->ndump; i++)
		lab_stop(L->dump_pid[i]);
	L->ndump = 0;
	lab_stop(L->server_pid);
	L->server_pid = 0;
	snprintf(name, sizeof name, "lab-%s", L->sc.prefix);
	if (L->dry_run) {
		/* print what would be removed; take and change nothing */
		struct own_record *rec = malloc(sizeof *rec);
		bool locked;
		if (rec && own_read(name, rec, &locked))
			for (unsigned i = rec->n; i-- > 0;)
				if (rec->item[i].kind == OWN_NETNS) {
					const char *del[] = { "ip", "netns", "del", rec->item[i].name, NULL };
					run_cmd(&R, del, NULL);
				}
		free(rec);
		return 0;
	}
	if (L->own.state != OWN_HELD && own_claim(&L->own, name, false, why, sizeof why)) {
		snprintf(err, errlen, "prefix '%s': %s", L->sc.prefix, why);
		L->own.state = OWN_NONE;
		return -1;
	}
	R = lab_runner(L);
	R.own = NULL;
	if (own_undo(&L->own, &R, names, len)) {
		snprintf(err, errlen, "could not remove everything the lab created; its record %s is kept "
			 "(run `twlab lab down` again)", L->own.path);
		rc = -1;
	}
	own_undo_stale_crafts(&R, L->sc.prefix);
	L->up = false;
	return rc;
}

int lab_down(struct lab *L)
{
	char names[1024], err[512];
	return lab_down_names(L, names, sizeof names, err, sizeof err);
}

void lab_status(const char *prefix, struct lab_status *st)
{
	struct own_record *rec = malloc(sizeof *rec);
	char name[40], all[2048], *save, *ns;
	bool locked = false;

	memset(st, 0, sizeof *st);
	snprintf(name, sizeof name, "lab-%s", prefix);
	if (rec && own_read(name, rec, &locked)) {
		st->in_use = locked;
		st->creator = rec->creator;
		for (unsigned i = 0; i < rec->n; i++) {
			const struct own_item *it = &rec->item[i];
			if (it->kind == OWN_PROC) {
				st->processes += own_proc_start(it->pid) == it->start;
			} else if (it->kind == OWN_NETNS) {
				if (own_netns_is_ours(rec, it)) {
					size_t u = strlen(st->names);
					snprintf(st->names + u, sizeof st->names - u, "%s%s", u ? " " : "", it->name);
					st->namespaces++;
				} else {
					st->missing++;
				}
			}
		}
	}
	st->up = st->namespaces > 0 && st->missing == 0;
	/* namespaces with the prefix that are not in the record: not ours */
	lab_list(prefix, all, sizeof all);
	for (ns = strtok_r(all, " ", &save); ns; ns = strtok_r(NULL, " ", &save)) {
		bool ours = false;
		for (unsigned i = 0; rec && i < rec->n && !ours; i++)
			ours = rec->item[i].kind == OWN_NETNS && !strcmp(rec->item[i].name, ns) &&
			       strstr(st->names, ns);
		if (!ours) {
			size_t u = strlen(st->unowned);
			snprintf(st->unowned + u, sizeof st->unowned - u, "%s%s", u ? " " : "", ns);
		}
	}
	free(rec);
}

int lab_nft(struct lab *L, const char *ns, const char *name, const char *rules,
	    const char *log, char *err, size_t errlen)
{
	struct runner R = lab_runner(L);
	char path[700];
	FILE *f;

	if (lab_interrupted) {
		snprintf(err, errlen, "interrupted");
		return -1;
	}
	/* a copy for the user to read; nft loads the same text from memory */
	snprintf(path, sizeof path, "%s/%s.nft", L->outdir, name);
	if (!L->dry_run) {
		if (!(f = fopen(path, "w"))) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		fputs(rules, f);
		if (fclose(f)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	return run_nft(&R, ns, rules, log, err, errlen);
}

/* The HTTP/1.0 server: Python's http.server, as in the report. The
 * response carries no Content-Length, so the client reads until EOF and the
 * server always closes first: the server holds TIME_WAIT. */
int lab_server_start(struct lab *L, const char *ns, uint32_t addr, uint16_t port_no,
		     char *err, size_t errlen)
{
	char py_path[600], slog[700], port[16], a[INET_ADDRSTRLEN];

	snprintf(py_path, sizeof py_path, "%s/server.py", L->outdir);
	snprintf(slog, sizeof slog, "%s/server.log", L->outdir);
	if (!L->dry_run) {
		FILE *f = fopen(py_path, "w");
		if (!f) {
			snprintf(err, errlen, "%s: %s", py_path, strerror(errno));
			return -1;
		}
		fputs("import http.server, sys\n"
		      "class H(http.server.BaseHTTPRequestHandler):\n"
		      "    protocol_version = 'HTTP/1.0'\n"
		      "    def log_message(self, *a): pass\n"
		      "    def do_GET(self):\n"
		      "        self.send_response(200)\n"
		      "        self.send_header('Content-Type', 'text/plain')\n"
		      "        self.send_header('Connection', 'close')\n"
		      "        self.end_headers()\n"
		      "        self.wfile.write(b'twlab lab server\\n')\n"
		      "http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()\n", f);
		fclose(f);
	}
	snprintf(port, sizeof port, "%u", port_no);
	const char *py[] = { "ip", "netns", "exec", ns, "python3", py_path, ip4_str(addr, a), port, NULL };
	L->server_pid = lab_spawn(L, py, slog, slog);
	if (L->server_pid < 0) {
		snprintf(err, errlen, "cannot start python3 http.server: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int lab_wait_http(struct lab *L, const char *ns, const char *url)
{
	/* from ports no repro, probe or load uses: the TIME_WAIT this check
	 * leaves on the server must not meet a later connection's 4-tuple */
	const char *argv[] = { "ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null",
			       "--local-port", "20000-20999",
			       "--connect-timeout", "1", "--max-time", "2", url, NULL };
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	for (int i = 0; i < 50 && !lab_interrupted; i++) {
		if (lab_run(L, argv, NULL) == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

int lab_up(struct lab *L, char *err, size_t errlen)
{
	const struct scenario *s = &L->sc;
	char fw[32], gw[32], srv[32], c[32], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	char cidr[64], log[600], rules[2048], tw[64];

	/* claim the prefix before anything else: a refused run changes nothing */
	if (lab_claim(L, err, errlen) || lab_mkout(L, err, errlen))
		return -1;
	snprintf(log, sizeof log, "%s/lab.log", L->outdir);
	L->up = true;
	lab_ns(L, "fw", fw, sizeof fw);
	lab_ns(L, "gw", gw, sizeof gw);
	lab_ns(L, "srv", srv, sizeof srv);

	if (LAB_RUN("ip", "netns", "add", fw))
		return -1;
	if (LAB_RUN("ip", "netns", "add", gw))
		return -1;
	if (LAB_RUN("ip", "netns", "add", srv))
		return -1;
	if (LAB_RUN("ip", "-n", fw, "link", "set", "lo", "up"))
		return -1;
	if (LAB_RUN("ip", "-n", gw, "link", "set", "lo", "up"))
		return -1;
	if (LAB_RUN("ip", "-n", srv, "link", "set", "lo", "up"))
		return -1;

	for (unsigned i = 0; i < s->clients; i++) {
		char cif[16], fif[24];
		lab_client_ns(L, i, c, sizeof c);
		snprintf(cif, sizeof cif, "eth0");
		snprintf(fif, sizeof fif, "c%u", i + 1);
		if (LAB_RUN("ip", "netns", "add", c))
			return -1;
		if (LAB_RUN("ip", "-n", c, "link", "set", "lo", "up"))
			return -1;
		if (LAB_RUN("ip", "link", "add", "tmp-twl-c", "netns", c, "type", "veth", "peer", "name", fif, "netns", fw))
			return -1;
		if (LAB_RUN("ip", "-n", c, "link", "set", "tmp-twl-c", "name", cif))
			return -1;
		snprintf(cidr, sizeof cidr, "%s/24", ip4_str(0xc6120002u | (i + 1) << 8, a));
		if (LAB_RUN("ip", "-n", c, "addr", "add", cidr, "dev", cif))
			return -1;
		snprintf(cidr, sizeof cidr, "%s/24", ip4_str(0xc6120001u | (i + 1) << 8, a));
		if (LAB_RUN("ip", "-n", fw, "addr", "add", cidr, "dev", fif))
			return -1;
		if (LAB_RUN("ip", "-n", c, "link", "set", cif, "up"))
			return -1;
		if (LAB_RUN("ip", "-n", fw, "link", "set", fif, "up"))
			return -1;
		if (LAB_RUN("ip", "-n", c, "route", "add", "198.18.0.0/15", "via", ip4_str(0xc6120001u | (i + 1) << 8, a)))
			return -1;
		/* repro reads a client's timestamp clock for a 4-tuple from a
		 * socket marked LAB_PROBE_MARK whose SYN must never leave */
		snprintf(rules, sizeof rules,
			 "table ip twlab_probe {\n"
			 "  chain out {\n    type filter hook output priority filter; policy accept;\n"
			 "    meta mark 0x%x drop\n  }\n}\n", LAB_PROBE_MARK);
		snprintf(fif, sizeof fif, "client-%u", i + 1);
		if (lab_nft(L, c, fif, rules, log, err, errlen))
			return -1;
	}
	/* fw <-> gw, gw <-> server */
	if (LAB_RUN("ip", "link", "add", "tmp-twl-f", "netns", fw, "type", "veth", "peer", "name", "fw", "netns", gw))
		return -1;
	if (LAB_RUN("ip", "-n", fw, "link", "set", "tmp-twl-f", "name", "gw"))
		return -1;
	if (LAB_RUN("ip", "link", "add", "tmp-twl-s", "netns", gw, "type", "veth", "peer", "name", "eth0", "netns", srv))
		return -1;
	if (LAB_RUN("ip", "-n", gw, "link", "set", "tmp-twl-s", "name", "srv"))
		return -1;
	snprintf(cidr, sizeof cidr, "%s/24", ip4_str(s->snat_addr, a));
	if (LAB_RUN("ip", "-n", fw, "addr", "add", cidr, "dev", "gw"))
		return -1;
	snprintf(cidr, sizeof cidr, "%s/24", ip4_str((s->snat_addr & 0xffffff00u) | 254, a));
	if (LAB_RUN("ip", "-n", gw, "addr", "add", cidr, "dev", "fw"))
		return -1;
	snprintf(cidr, sizeof cidr, "%s/24", ip4_str((s->server_addr & 0xffffff00u) | 254, a));
	if (LAB_RUN("ip", "-n", gw, "addr", "add", cidr, "dev", "srv"))
		return -1;
	snprintf(cidr, sizeof cidr, "%s/24", ip4_str(s->server_addr, a));
	if (LAB_RUN("ip", "-n", srv, "addr", "add", cidr, "dev", "eth0"))
		return -1;
	if (LAB_RUN("ip", "-n", fw, "link", "set", "gw", "up"))
		return -1;
	if (LAB_RUN("ip", "-n", gw, "link", "set", "fw", "up"))
		return -1;
	if (LAB_RUN("ip", "-n", gw, "link", "set", "srv", "up"))
		return -1;
	if (LAB_RUN("ip", "-n", srv, "link", "set", "eth0", "up"))
		return -1;
	snprintf(cidr, sizeof cidr, "%s/24", ip4_str(s->server_addr & 0xffffff00u, a));
	if (LAB_RUN("ip", "-n", fw, "route", "add", cidr, "via", ip4_str((s->snat_addr & 0xffffff00u) | 254, b)))
		return -1;
	if (LAB_RUN("ip", "-n", gw, "route", "add", "198.18.0.0/15", "via", ip4_str(s->snat_addr, a)))
		return -1;
	if (LAB_RUN("ip", "-n", srv, "route", "add", "198.18.0.0/15", "via", ip4_str((s->server_addr & 0xffffff00u) | 254, a)))
		return -1;
	if (LAB_RUN("ip", "netns", "exec", fw, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
		return -1;
	if (LAB_RUN("ip", "netns", "exec", gw, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
		return -1;

	/* firewall rules */
	snprintf(rules, sizeof rules,
		 "table ip twlab {\n"
		 "  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n"
		 "    ip daddr %s tcp dport %u dnat to %s:%u\n  }\n"
		 "  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n"
		 "    oifname \"gw\" snat to %s\n  }\n"
		 "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
		 "%s"
		 "  }\n}\n",
		 ip4_str(s->service_addr, a), s->service_port, ip4_str(s->server_addr, b), s->server_port,
		 ip4_str(s->snat_addr, c),
		 s->fw == FW_STRICT
		 ? "    # strict: only a SYN-ACK or a RST may answer a session that has seen no SYN-ACK\n"
		   "    iifname \"gw\" tcp flags & (syn | ack) == syn | ack ct mark set 1\n"
		   "    iifname \"gw\" ct mark != 1 tcp flags & (syn | rst) == 0 counter drop\n"
		 : "    # linux: conntrack only\n    ct state invalid counter\n");
	if (lab_nft(L, fw, "firewall", rules, log, err, errlen))
		return -1;
	snprintf(tw, sizeof tw, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=%u", s->fw_time_wait);
	if (LAB_RUN("ip", "netns", "exec", fw, "sysctl", "-qw", tw))
		return -1;

	snprintf(rules, sizeof rules,
		 "table ip twlab {\n"
		 "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
		 "    ct state invalid counter log prefix \"twlab-gw-invalid: \"\n  }\n}\n");
	if (lab_nft(L, gw, "gateway", rules, log, err, errlen))
		return -1;
	snprintf(tw, sizeof tw, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=%u", s->gw_time_wait);
	if (LAB_RUN("ip", "netns", "exec", gw, "sysctl", "-qw", tw))
		return -1;

	if (lab_server_start(L, srv, s->server_addr, s->server_port, err, errlen))
		return -1;
	/* up means serving: through the firewall, from the first client */
	lab_client_ns(L, 0, c, sizeof c);
	snprintf(cidr, sizeof cidr, "http://%s:%u/", ip4_str(s->service_addr, a), s->service_port);
	if (lab_wait_http(L, c, cidr)) {
		snprintf(err, errlen, lab_interrupted ? "interrupted"
			 : "the server does not answer through the firewall (see %s/server.log)", L->outdir);
		return -1;
	}
	return 0;
}
