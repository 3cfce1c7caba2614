/* linux.c: program-specific fields of syslog messages on Linux hosts. The
 * message is dispatched on its program name (sshd, sudo, su, login, the shadow
 * utilities, cron, systemd, systemd-logind, kernel) or on its own prefix (PAM
 * module lines, Sysmon XML) and matched by fixed prefixes and right-anchored
 * splits: no regex, no copy, no allocation except through the event arena. */
#include <string.h>

#include "parse/linux_int.h"

static lx_sv sv_from(lx_sv s, size_t i)
{
	return i >= s.n ? lx_sv_make(s.p + s.n, 0) : lx_sv_make(s.p + i, s.n - i);
}

/* The text up to the first c (all of s when absent); *rest is what follows c. */
static lx_sv upto(lx_sv s, char c, lx_sv *rest)
{
	const char *k = s.n ? memchr(s.p, c, s.n) : NULL;
	size_t i = k ? (size_t)(k - s.p) : s.n;

	*rest = sv_from(s, i + 1);
	return lx_sv_make(s.p, i);
}

static size_t digits_at(lx_sv s, size_t i, size_t max)
{
	size_t j = i;

	while (j < s.n && j - i < max && core_is_digit(s.p[j]))
		j++;
	return j - i;
}

/* A name in single quotes at the start of s (the opening quote already
 * eaten): the name, and s moved past the closing quote. */
static bool quoted(lx_sv *s, lx_sv *out)
{
	lx_sv rest;

	*out = upto(*s, '\'', &rest);
	if (out->n == s->n)
		return false;
	*s = rest;
	return true;
}

/* ==== sshd ============================================================ */

typedef struct ssh_rec {
	const char *category, *action, *outcome;
	lx_sv user, host, port, method, sig;
	bool invalid, preauth;
} ssh_rec;

static void ssh_emit(lx_out *o, const ssh_rec *r)
{
	lx_event(o, r->category, r->action, r->outcome);
	lx_str(o, "user.name", r->user);
	lx_addr(o, "source.ip", "source.domain", r->host);
	lx_port(o, "source.port", r->port);
	lx_str(o, "system.auth.ssh.method", r->method);
	lx_str(o, "system.auth.ssh.signature", r->sig);
	lx_true(o, "system.auth.ssh.invalid_user", r->invalid);
	lx_true(o, "system.auth.ssh.preauth", r->preauth);
}

/* "HOST[ port N]" at the start of s: the host token (a trailing ':' dropped
 * when there is no port), the port digits (empty if absent); returns the rest. */
static lx_sv ssh_hp(lx_sv s, lx_sv *host, lx_sv *port)
{
	size_t i = 0;

	while (i < s.n && s.p[i] != ' ')
		i++;
	*host = lx_sv_make(s.p, i);
	*port = lx_sv_make(NULL, 0);
	lx_sv r = sv_from(s, i);
	lx_sv t = r;
	if (LX_EAT(&t, " port ")) {
		size_t d = digits_at(t, 0, 5);
		if (d && (d == t.n || !core_is_digit(t.p[d]))) {
			*port = lx_sv_make(t.p, d);
			return sv_from(t, d);
		}
	}
	if (host->n > 1 && host->p[host->n - 1] == ':')
		host->n--;
	return r;
}

/* s ends with "... from HOST port N[ REST]": anchored on the last " from "
 * whose tail is a host, " port " and digits followed by the end, ' ' or ':'
 * (user names may hold spaces, so the split is done from the right). With
 * noport, "from HOST" at the very end is accepted as well. */
static bool ssh_from(lx_sv s, bool noport, lx_sv *before, lx_sv *host, lx_sv *port, lx_sv *rest)
{
	size_t end = s.n;
	const char *k;

	while ((k = lx_rfind(s, end, " from ", 6)) != NULL) {
		size_t i = (size_t)(k - s.p);
		lx_sv t = sv_from(s, i + 6);
		lx_sv r = ssh_hp(t, host, port);
		if (host->n && ((port->n && (!r.n || r.p[0] == ' ' || r.p[0] == ':')) ||
				(noport && !r.n))) {
			*before = lx_sv_make(s.p, i);
			*rest = r;
			return true;
		}
		end = i + 5;
	}
	return false;
}

/* "[invalid user |authenticating user |user ]USER HOST[ port N]", or
 * "HOST[ port N]": the split used by the connection and disconnect lines. */
static bool ssh_uhp(lx_sv s, ssh_rec *r)
{
	lx_sv pre, t = s;
	const char *k = lx_rfind(s, s.n, " port ", 6);

	if (k) {
		lx_sv p = sv_from(s, (size_t)(k - s.p) + 6);
		if (p.n && p.n <= 5 && digits_at(p, 0, 5) == p.n) {
			r->port = p;
			t.n = (size_t)(k - s.p);
		}
	}
	const char *sp = t.n ? memrchr(t.p, ' ', t.n) : NULL;
	r->host = sp ? sv_from(t, (size_t)(sp - t.p) + 1) : t;
	pre = lx_sv_make(t.p, sp ? (size_t)(sp - t.p) : 0);
	if (!r->host.n || (!r->port.n && !lx_is_ip(r->host)))
		return false;
	if (!pre.n)
		return !sp;
	if (LX_EAT(&pre, "invalid user "))
		r->invalid = true;
	else if (!LX_EAT(&pre, "authenticating user ") && !LX_EAT(&pre, "user "))
		return false;
	r->user = pre;
	return true;
}

/* "METHOD for [invalid user ]USER from HOST port N ssh2[: SIGNATURE]". */
static bool ssh_auth(lx_sv m, ssh_rec *r)
{
	lx_sv rest, before;

	r->method = upto(m, ' ', &rest);
	if (!r->method.n || !LX_EAT(&rest, "for ") ||
	    !ssh_from(rest, false, &before, &r->host, &r->port, &m))
		return false;
	r->invalid = LX_EAT(&before, "invalid user ");
	r->user = before;
	if (LX_EAT(&m, " ssh2: ") || LX_EAT(&m, ": "))
		r->sig = lx_trim(m);
	return true;
}

/* "[invalid user ]USER from HOST[ port N]..." (max attempts, Invalid user). */
static bool ssh_user_from(lx_sv m, ssh_rec *r, bool noport)
{
	lx_sv before, rest;

	if (!ssh_from(m, noport, &before, &r->host, &r->port, &rest))
		return false;
	r->invalid = LX_EAT(&before, "invalid user ");
	r->user = before;
	return true;
}

/* "Disconnecting [..user ]USER HOST port N: REASON" or "Disconnecting: REASON". */
static bool ssh_disconnecting(lx_sv m, ssh_rec *r)
{
	lx_sv who, reason;

	if (LX_EAT(&m, ": ")) {
		reason = m;
	} else if (!LX_EAT(&m, " ") || !LX_SPLIT(m, ": ", &who, &reason) || !ssh_uhp(who, r)) {
		return false;
	}
	if (LX_STARTS(reason, "Too many authentication failures")) {
		r->category = "authentication";
		r->action = "ssh_max_auth_exceeded";
		r->outcome = "failure";
	} else {
		r->category = "session";
		r->action = "ssh_disconnect";
		r->outcome = "unknown";
	}
	return true;
}

static void ssh_set(ssh_rec *r, const char *category, const char *action, const char *outcome)
{
	r->category = category;
	r->action = action;
	r->outcome = outcome;
}

/* The lines that start with a fixed verb; false when m is none of them. */
static bool ssh_verbs(lx_sv m, ssh_rec *r)
{
	lx_sv rest;

	if (LX_EAT(&m, "Accepted ")) {
		ssh_set(r, "authentication", "ssh_login", "success");
		return ssh_auth(m, r);
	}
	if (LX_EAT(&m, "Failed ")) {
		ssh_set(r, "authentication", "ssh_login", "failure");
		return ssh_auth(m, r);
	}
	if (LX_EAT(&m, "Partial ") || LX_EAT(&m, "Postponed ")) {
		ssh_set(r, "authentication", "ssh_login_partial", "unknown");
		return ssh_auth(m, r);
	}
	if (LX_EAT(&m, "Invalid user ")) {
		ssh_set(r, "authentication", "ssh_invalid_user", "failure");
		r->invalid = true;
		return ssh_from(m, true, &r->user, &r->host, &r->port, &rest);
	}
	if (LX_EAT(&m, "error: maximum authentication attempts exceeded for ")) {
		ssh_set(r, "authentication", "ssh_max_auth_exceeded", "failure");
		return ssh_user_from(m, r, false);
	}
	if (LX_EAT(&m, "Connection closed by ")) {
		ssh_set(r, "session", "ssh_connection_closed", "unknown");
		return ssh_uhp(m, r);
	}
	if (LX_EAT(&m, "Connection reset by ")) {
		ssh_set(r, "session", "ssh_connection_reset", "unknown");
		return ssh_uhp(m, r);
	}
	if (LX_EAT(&m, "Disconnected from ")) {
		ssh_set(r, "session", "ssh_disconnect", "unknown");
		return ssh_uhp(m, r);
	}
	if (LX_EAT(&m, "Disconnecting"))
		return ssh_disconnecting(m, r);
	return false;
}

/* The lines about a peer before any authentication. */
static bool ssh_peer(lx_sv m, ssh_rec *r)
{
	lx_sv rest, user, why;

	if (LX_EAT(&m, "Received disconnect from ")) {
		ssh_set(r, "session", "ssh_disconnect", "unknown");
		rest = ssh_hp(m, &r->host, &r->port);
		return r->host.n && (!r->port.n || (rest.n && rest.p[0] == ':'));
	}
	if (LX_EAT(&m, "Timeout before authentication for ")) {
		ssh_set(r, "authentication", "ssh_auth_timeout", "failure");
		return ssh_hp(m, &r->host, &r->port), r->host.n > 0;
	}
	if (LX_EAT(&m, "Did not receive identification string from ")) {
		ssh_set(r, "network", "ssh_no_identification", "failure");
		return ssh_hp(m, &r->host, &r->port), r->host.n > 0;
	}
	if (LX_EAT(&m, "banner exchange: Connection from ")) {
		ssh_set(r, "network", "ssh_bad_banner", "failure");
		rest = ssh_hp(m, &r->host, &r->port);
		return r->host.n && rest.n && rest.p[0] == ':';
	}
	if (LX_EAT(&m, "Unable to negotiate with ")) {
		ssh_set(r, "network", "ssh_negotiation_failed", "failure");
		rest = ssh_hp(m, &r->host, &r->port);
		return r->host.n && rest.n && rest.p[0] == ':';
	}
	if (LX_EAT(&m, "User ") && LX_RSPLIT(m, " not allowed because ", &user, &why)) {
		ssh_set(r, "authentication", "ssh_user_not_allowed", "failure");
		return ssh_user_from(user, r, true);
	}
	return false;
}

static void lx_sshd(lx_out *o, lx_sv m)
{
	ssh_rec r = {0};

	r.preauth = LX_CHOP(&m, " [preauth]");
	if (ssh_verbs(m, &r) || ssh_peer(m, &r))
		ssh_emit(o, &r);
}

/* ==== sudo ============================================================== */

/* "KEY=" with an upper-case key: a sudo log field rather than an error text. */
static bool sudo_key(lx_sv s)
{
	size_t i = 0;

	while (i < s.n && s.p[i] >= 'A' && s.p[i] <= 'Z')
		i++;
	return i > 0 && i < s.n && s.p[i] == '=';
}

/* "USER : [ERROR ; ]TTY=pts/0 ; PWD=/home/u ; USER=root ; [GROUP=g ; ]
 * [ENV=... ; ]COMMAND=/usr/bin/id args" (COMMAND is last and may hold " ; "). */
static void lx_sudo(lx_out *o, lx_sv m)
{
	lx_sv user, rest, seg, err = {0}, tty = {0}, pwd = {0}, runas = {0}, group = {0},
			     cmd = {0};
	bool known = false;

	if (!LX_SPLIT(m, " : ", &user, &rest) || !(user = lx_trim(user)).n)
		return;
	while (rest.n) {
		if (LX_EAT(&rest, "COMMAND=")) {
			cmd = rest;
			known = true;
			break;
		}
		if (!LX_SPLIT(rest, " ; ", &seg, &rest)) {
			seg = rest;
			rest.n = 0;
		}
		if (LX_EAT(&seg, "TTY="))
			tty = seg, known = true;
		else if (LX_EAT(&seg, "PWD="))
			pwd = seg;
		else if (LX_EAT(&seg, "USER="))
			runas = seg;
		else if (LX_EAT(&seg, "GROUP="))
			group = seg;
		else if (!sudo_key(seg) && !err.n)
			err = lx_trim(seg);
	}
	if (!known)
		return;
	if (err.n)
		lx_event(o, "authentication", "sudo_failure", "failure");
	else
		lx_event(o, "process", "sudo_command", "success");
	lx_str(o, "user.name", user);
	lx_str(o, "user.effective.name", runas);
	lx_str(o, "user.effective.group.name", group);
	lx_str(o, "process.working_directory", pwd);
	lx_str(o, "process.command_line", cmd);
	lx_str(o, "system.auth.sudo.tty", tty);
	lx_str(o, "system.auth.sudo.error", err);
}

/* ==== su ============================================================== */

/* util-linux: "(to root) alice on pts/0", "FAILED SU (to root) alice on pts/0";
 * BSD style: "'su root' failed for alice on /dev/pts/8"; shadow: "Successful
 * su for root by alice", "FAILED su for root by alice", "+ pts/0 alice:root". */
static bool su_match(lx_sv m, lx_sv *user, lx_sv *target, lx_sv *tty, bool *ok)
{
	lx_sv rest;

	*ok = !LX_EAT(&m, "FAILED SU ");
	if (LX_EAT(&m, "(to ")) {
		*target = upto(m, ')', &rest);
		return LX_EAT(&rest, " ") && LX_RSPLIT(rest, " on ", user, tty);
	}
	if (!*ok)
		return false;
	if (LX_EAT(&m, "'su ")) {
		*target = upto(m, '\'', &rest);
		if (LX_EAT(&rest, " failed for "))
			*ok = false;
		else if (!LX_EAT(&rest, " succeeded for "))
			return false;
		return LX_RSPLIT(rest, " on ", user, tty);
	}
	if (LX_EAT(&m, "Successful su for "))
		return LX_RSPLIT(m, " by ", target, user);
	if (LX_EAT(&m, "FAILED su for ")) {
		*ok = false;
		return LX_RSPLIT(m, " by ", target, user);
	}
	if (LX_STARTS(m, "+ ") || LX_STARTS(m, "- ")) {
		*ok = m.p[0] == '+';
		*tty = upto(sv_from(m, 2), ' ', &rest);
		return LX_RSPLIT(rest, ":", user, target);
	}
	return false;
}

static void lx_su(lx_out *o, lx_sv m)
{
	lx_sv user = {0}, target = {0}, tty = {0};
	bool ok;

	if (!su_match(m, &user, &target, &tty, &ok) || !user.n)
		return;
	lx_event(o, "authentication", ok ? "su_success" : "su_failure", ok ? "success" : "failure");
	lx_str(o, "user.name", user);
	lx_str(o, "user.effective.name", target);
	lx_str(o, "system.auth.su.tty", tty);
}

/* ==== login ================================================================ */

/* util-linux: "ROOT LOGIN ON tty1[ FROM host]", "LOGIN ON tty2 BY bob[ FROM
 * host]", "FAILED LOGIN 1 FROM tty1 FOR bob, Authentication failure", "TOO
 * MANY LOGIN TRIES (3) FROM host FOR bob, ..."; shadow: "ROOT LOGIN  on
 * '/dev/tty1'[ from 'host']", "'bob' logged in  on '/dev/tty2'", "FAILED
 * LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure", "TOO MANY
 * LOGIN TRIES (3) on '/dev/tty1' FOR 'bob'", "ILLEGAL ROOT LOGIN  on
 * '/dev/ttyS0'", "invalid password for 'bob'  on '/dev/tty1'"; busybox: "root
 * login on 'tty1'". ROOT LOGIN names no account: it is any account of UID 0. */
typedef struct login_rec {
	const char *action, *outcome;
	lx_sv user, uid, tty, host, count, reason;
} login_rec;

/* util-linux writes FROM with the remote host when there is one, else with
 * the terminal: a terminal name starts with one of these. */
static bool login_is_tty(lx_sv s)
{
	static const char *const ttys[] = {"tty", "pts/", "/dev/", "console", "hvc", "xvc",
					   "vc/", "sclp_line", "3270/"};

	for (size_t i = 0; i < sizeof ttys / sizeof ttys[0]; i++)
		if (lx_starts(s, ttys[i], strlen(ttys[i])))
			return true;
	return false;
}

/* shadow's " on 'TTY'[ from 'HOST']" (leading blanks skipped); returns the
 * rest, or false when s does not start so. */
static bool login_on(lx_sv *s, login_rec *r)
{
	lx_sv t = lx_trim(*s);

	if (!LX_EAT(&t, "on '") || !quoted(&t, &r->tty))
		return false;
	if (LX_EAT(&t, " from '") && !quoted(&t, &r->host))
		return false;
	*s = t;
	return true;
}

/* util-linux's "FROM X" value: a terminal or a host. */
static void login_from(lx_sv v, login_rec *r)
{
	if (login_is_tty(v))
		r->tty = v;
	else
		r->host = v;
}

/* "ON TTY[ FROM HOST]" (util-linux ROOT LOGIN) or shadow's form. */
static bool login_root(lx_sv m, login_rec *r)
{
	lx_sv rest;

	r->uid = lx_sv_make("0", 1);
	if (LX_EAT(&m, "ON ")) {
		r->tty = upto(m, ' ', &rest);
		if (LX_EAT(&rest, "FROM "))
			r->host = rest;
		else if (rest.n)
			return false;
		return r->tty.n > 0;
	}
	return login_on(&m, r) && !m.n;
}

/* The failures: "N FROM X FOR USER, REASON" (util-linux) or "(N) on 'TTY'
 * FOR 'USER'[, REASON]" (shadow), after "FAILED LOGIN " or "TOO MANY LOGIN
 * TRIES ". */
static bool login_failed(lx_sv m, login_rec *r)
{
	lx_sv rest, who;
	bool paren = LX_EAT(&m, "(");
	size_t d = digits_at(m, 0, 9);

	if (!d)
		return false;
	r->count = lx_sv_make(m.p, d);
	m = sv_from(m, d);
	if (paren && !LX_EAT(&m, ")"))
		return false;
	if (LX_EAT(&m, " FROM ")) {
		if (!LX_SPLIT(m, " FOR ", &who, &rest))
			return false;
		login_from(who, r);
		if (!LX_RSPLIT(rest, ", ", &r->user, &r->reason))
			r->user = rest;
		return r->user.n > 0;
	}
	if (!login_on(&m, r) || !LX_EAT(&m, " FOR '"))
		return false;
	if (!LX_RSPLIT(m, "', ", &r->user, &r->reason)) {
		if (!LX_CHOP(&m, "'"))
			return false;
		r->user = m;
	}
	return r->user.n > 0;
}

static bool login_match(lx_sv m, login_rec *r)
{
	lx_sv rest;

	r->action = "login_success";
	r->outcome = "success";
	if (LX_EAT(&m, "ROOT LOGIN ") || LX_EAT(&m, "root login "))
		return login_root(m, r);
	if (LX_EAT(&m, "LOGIN ON ")) {
		r->tty = upto(m, ' ', &rest);
		if (!LX_EAT(&rest, "BY "))
			return false;
		r->user = upto(rest, ' ', &rest);
		if (LX_EAT(&rest, "FROM "))
			r->host = rest;
		return r->tty.n && r->user.n && (r->host.n || !rest.n);
	}
	if (LX_EAT(&m, "'"))
		return quoted(&m, &r->user) && LX_EAT(&m, " logged in ") && login_on(&m, r) &&
		       !m.n;
	r->action = "login_failure";
	r->outcome = "failure";
	if (LX_EAT(&m, "FAILED LOGIN "))
		return login_failed(m, r);
	if (LX_EAT(&m, "ILLEGAL ROOT LOGIN "))
		return login_root(m, r);
	if (LX_EAT(&m, "invalid password for '"))
		return quoted(&m, &r->user) && (!m.n || (login_on(&m, r) && !m.n));
	r->action = "login_max_tries_exceeded";
	return LX_EAT(&m, "TOO MANY LOGIN TRIES ") && login_failed(m, r);
}

static void lx_login(lx_out *o, lx_sv m)
{
	login_rec r = {0};
	int64_t n;

	if (!login_match(m, &r))
		return;
	lx_event(o, "authentication", r.action, r.outcome);
	lx_str(o, "user.name", r.user);
	lx_str(o, "user.id", r.uid);
	lx_addr(o, "source.ip", "source.domain", r.host);
	lx_str(o, "system.auth.login.tty", r.tty);
	if (r.count.n && core_parse_i64(r.count.p, r.count.n, &n) == 0)
		lx_int(o, "system.auth.login.failures", n);
	lx_str(o, "system.auth.login.reason", r.reason);
}

/* ==== PAM ============================================================ */

typedef struct pam_kv {
	lx_sv logname, uid, euid, tty, ruser, rhost, user;
} pam_kv;

/* "logname=X uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root" (user is
 * last and taken to the end; values may be empty). */
static void pam_parse_kv(lx_sv s, pam_kv *kv)
{
	lx_sv key, val;

	while (s.n) {
		while (s.n && s.p[0] == ' ')
			s = sv_from(s, 1);
		key = upto(s, '=', &val);
		if (!key.n || memchr(key.p, ' ', key.n))
			return;
		if (LX_EQ(key, "user")) {
			kv->user = lx_trim(val);
			return;
		}
		val = upto(val, ' ', &s);
		if (LX_EQ(key, "logname"))
			kv->logname = val;
		else if (LX_EQ(key, "uid"))
			kv->uid = val;
		else if (LX_EQ(key, "euid"))
			kv->euid = val;
		else if (LX_EQ(key, "tty"))
			kv->tty = val;
		else if (LX_EQ(key, "ruser"))
			kv->ruser = val;
		else if (LX_EQ(key, "rhost"))
			kv->rhost = val;
	}
}

static void pam_emit_kv(lx_out *o, const pam_kv *kv)
{
	lx_str(o, "user.name", kv->user);
	lx_addr(o, "source.ip", "source.domain", kv->rhost);
	lx_str(o, "system.auth.pam.logname", kv->logname);
	lx_str(o, "system.auth.pam.uid", kv->uid);
	lx_str(o, "system.auth.pam.euid", kv->euid);
	lx_str(o, "system.auth.pam.tty", kv->tty);
	lx_str(o, "system.auth.pam.ruser", kv->ruser);
}

/* "NAME(uid=N)", "NAME" or "(uid=N)" at the start of s; returns the rest. */
static lx_sv pam_who(lx_sv s, lx_sv *name, lx_sv *uid)
{
	size_t i = 0;

	while (i < s.n && s.p[i] != '(' && s.p[i] != ' ')
		i++;
	*name = lx_sv_make(s.p, i);
	lx_sv t = sv_from(s, i);
	if (LX_EAT(&t, "(uid=")) {
		size_t d = digits_at(t, 0, 10);
		if (d && d < t.n && t.p[d] == ')') {
			*uid = lx_sv_make(t.p, d);
			return sv_from(t, d + 1);
		}
	}
	return sv_from(s, i);
}

/* "root(uid=0) by alice(uid=1000)" after "session opened for user ". */
static bool pam_session(lx_out *o, lx_sv m, bool opened)
{
	lx_sv name = {0}, uid = {0}, by = {0}, by_uid = {0};

	m = pam_who(m, &name, &uid);
	if (!name.n)
		return false;
	if (LX_EAT(&m, " by "))
		pam_who(m, &by, &by_uid);
	lx_event(o, "session", opened ? "pam_session_opened" : "pam_session_closed", "success");
	lx_str(o, "user.name", name);
	lx_str(o, "user.id", uid);
	lx_str(o, "system.auth.pam.by_user", by);
	lx_str(o, "system.auth.pam.by_uid", by_uid);
	return true;
}

/* "pam_MODULE(SERVICE:TYPE): MESSAGE", from any program. */
static void lx_pam(lx_out *o, lx_sv m)
{
	lx_sv module, inside, svc, type, rest;
	pam_kv kv = {0};

	module = upto(m, '(', &rest);
	if (module.n > 32 || !LX_SPLIT(rest, "): ", &inside, &m) || inside.n > 64 ||
	    !LX_RSPLIT(inside, ":", &svc, &type))
		return;
	if (LX_EAT(&m, "authentication failure; ")) {
		pam_parse_kv(m, &kv);
		lx_event(o, "authentication", "pam_auth_failure", "failure");
		pam_emit_kv(o, &kv);
	} else if (LX_EAT(&m, "session opened for user ")) {
		if (!pam_session(o, m, true))
			return;
	} else if (LX_EAT(&m, "session closed for user ")) {
		if (!pam_session(o, m, false))
			return;
	} else if (LX_EQ(m, "check pass; user unknown")) {
		lx_event(o, "authentication", "pam_user_unknown", "failure");
	} else if (LX_EAT(&m, "password changed for ") && (m = lx_trim(m)).n) {
		lx_event(o, "iam", "password_changed", "success");
		lx_str(o, "user.target.name", m);
	} else {
		return;
	}
	lx_str(o, "system.auth.pam.module", module);
	lx_str(o, "system.auth.pam.service", svc);
	lx_str(o, "system.auth.pam.type", type);
}

/* "PAM 2 more authentication failures; logname= uid=0 ... user=root". */
static void lx_pam_more(lx_out *o, lx_sv m)
{
	pam_kv kv = {0};
	size_t d;

	if (!LX_EAT(&m, "PAM ") || !(d = digits_at(m, 0, 6)))
		return;
	m = sv_from(m, d);
	if (!LX_EAT(&m, " more authentication failure"))
		return;
	LX_EAT(&m, "s");
	if (!LX_EAT(&m, "; "))
		return;
	pam_parse_kv(m, &kv);
	lx_event(o, "authentication", "pam_auth_failure", "failure");
	pam_emit_kv(o, &kv);
}

/* ==== shadow utilities (useradd, usermod, userdel, groupadd, passwd...) ==== */

typedef struct iam_rec {
	const char *action, *outcome;
	lx_sv actor, user, uid, gid, group, new_name, home, shell, from;
	lx_sv members;            /* gpasswd -M: comma-separated user names */
	lx_sv attr, old, new_val; /* usermod: "change user 'bob' ATTR from 'OLD' to 'NEW'" */
	lx_sv new_uid, new_gid;
	bool is_group; /* name= and GID= describe a group, not a user */
} iam_rec;

/* "name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0". */
static void iam_kv(lx_sv s, iam_rec *r)
{
	lx_sv item, key, val;

	while (s.n) {
		if (!LX_SPLIT(s, ", ", &item, &s)) {
			item = s;
			s.n = 0;
		}
		key = upto(item, '=', &val);
		if (LX_EQ(key, "name"))
			*(r->is_group ? &r->group : &r->user) = val;
		else if (LX_EQ(key, "UID"))
			r->uid = val;
		else if (LX_EQ(key, "GID"))
			r->gid = val;
		else if (LX_EQ(key, "home"))
			r->home = val;
		else if (LX_EQ(key, "shell"))
			r->shell = val;
		else if (LX_EQ(key, "from"))
			r->from = val;
	}
}

static bool iam_group_member(lx_sv m, iam_rec *r, const char *action, bool add)
{
	r->action = action;
	if (!quoted(&m, &r->user))
		return false;
	if (!(add ? LX_EAT(&m, " to group '") || LX_EAT(&m, " to shadow group '")
		  : LX_EAT(&m, " from group '") || LX_EAT(&m, " from shadow group '")))
		return false;
	return quoted(&m, &r->group);
}

/* A group name: up to the first space (gpasswd appends " in /etc/group" when
 * only one of the two files was written). */
static lx_sv iam_word(lx_sv s, lx_sv *rest)
{
	return upto(s, ' ', rest);
}

/* gpasswd: "user bob added by root to group sudo", "user bob removed by root
 * from group sudo" (after "user "). */
static bool iam_gpasswd(lx_sv m, iam_rec *r)
{
	lx_sv rest;

	r->user = upto(m, ' ', &rest);
	if (LX_EAT(&rest, "added by ")) {
		r->action = "user_added_to_group";
		if (!LX_SPLIT(rest, " to group ", &r->actor, &rest))
			return false;
	} else if (LX_EAT(&rest, "removed by ")) {
		r->action = "user_removed_from_group";
		if (!LX_SPLIT(rest, " from group ", &r->actor, &rest))
			return false;
	} else {
		return false;
	}
	r->group = iam_word(rest, &rest);
	return r->user.n && r->group.n;
}

/* gpasswd -M: "members of group sudo set by root to bob,alice" (after
 * "members of group "). The list replaces the old one, which the line does not
 * give: each listed user is reported as added; an empty list removes all. */
static bool iam_gpasswd_set(lx_sv m, iam_rec *r)
{
	lx_sv rest;

	r->group = iam_word(m, &rest);
	if (!r->group.n || !LX_EAT(&rest, "set by "))
		return false;
	r->actor = upto(rest, ' ', &rest);
	if (!r->actor.n || !(LX_EAT(&rest, "to ") || LX_EQ(rest, "to")))
		return false;
	if (LX_EQ(rest, "to"))
		rest.n = 0;
	r->members = iam_word(rest, &rest);
	r->action = r->members.n ? "user_added_to_group" : "user_removed_from_group";
	return true;
}

/* gpasswd's failures: "root failed to add user bob to group sudo", "root
 * failed to remove user bob from group sudo", "root failed to set the members
 * of group sudo to bob,alice" (each may end with " in /etc/gshadow"). */
static bool iam_gpasswd_failed(lx_sv m, iam_rec *r)
{
	lx_sv rest;

	r->actor = upto(m, ' ', &rest);
	r->outcome = "failure";
	if (!r->actor.n || !LX_EAT(&rest, "failed to "))
		return false;
	if (LX_EAT(&rest, "add user ")) {
		r->action = "user_added_to_group";
		r->user = upto(rest, ' ', &rest);
		if (!LX_EAT(&rest, "to group "))
			return false;
	} else if (LX_EAT(&rest, "remove user ")) {
		r->action = "user_removed_from_group";
		r->user = upto(rest, ' ', &rest);
		if (!LX_EAT(&rest, "from group "))
			return false;
	} else if (LX_EAT(&rest, "set the members of group ")) {
		r->action = "user_added_to_group";
		r->group = iam_word(rest, &rest);
		if (!LX_EAT(&rest, "to ") && !LX_EQ(rest, "to"))
			return false;
		r->members = iam_word(LX_EQ(rest, "to") ? sv_from(rest, 2) : rest, &rest);
		if (!r->members.n)
			r->action = "user_removed_from_group";
		return r->group.n > 0;
	} else {
		return false;
	}
	r->group = iam_word(rest, &rest);
	return r->user.n && r->group.n;
}

/* usermod: "ATTR from 'OLD' to 'NEW'" after "change user 'bob' " (UID, GID,
 * home, shell, inactive, expiration). */
static bool iam_attr_change(lx_sv m, iam_rec *r)
{
	lx_sv rest, attr, old, new_val;

	attr = upto(m, ' ', &rest);
	if (!attr.n || !LX_EAT(&rest, "from '") || !LX_CHOP(&rest, "'") ||
	    !LX_SPLIT(rest, "' to '", &old, &new_val))
		return false;
	r->attr = attr;
	r->old = old;
	r->new_val = new_val;
	if (LX_EQ(r->attr, "UID")) {
		r->uid = r->old;
		r->new_uid = r->new_val;
	} else if (LX_EQ(r->attr, "GID")) {
		r->gid = r->old;
		r->new_gid = r->new_val;
	}
	r->action = "user_modified";
	return true;
}

static bool iam_user_change(lx_sv m, iam_rec *r)
{
	if (LX_EAT(&m, "change user name '")) {
		r->action = "user_renamed";
		return quoted(&m, &r->user) && LX_EAT(&m, " to '") && quoted(&m, &r->new_name);
	}
	if (LX_EAT(&m, "change user '")) {
		if (!quoted(&m, &r->user))
			return false;
		if (LX_EAT(&m, " ") && !LX_EQ(m, "password") && iam_attr_change(m, r))
			return true;
		r->action = LX_EQ(m, "password") ? "password_changed" : "user_modified";
		return true;
	}
	if (LX_EAT(&m, "lock user '")) {
		r->action = "user_locked";
		return quoted(&m, &r->user);
	}
	if (LX_EAT(&m, "unlock user '")) {
		r->action = "user_unlocked";
		return quoted(&m, &r->user);
	}
	if (LX_EAT(&m, "password for '")) {
		r->action = "password_changed";
		return quoted(&m, &r->user) && LX_EAT(&m, " changed by '") && quoted(&m, &r->actor);
	}
	if (LX_EAT(&m, "password changed for ")) {
		r->action = "password_changed";
		return (r->user = lx_trim(m)).n > 0;
	}
	if (LX_EAT(&m, "changed password expiry for ")) {
		r->action = "user_modified";
		return (r->user = lx_trim(m)).n > 0;
	}
	return false;
}

static bool iam_match(lx_sv m, iam_rec *r)
{
	lx_sv path;

	r->outcome = "success";
	if (LX_EAT(&m, "new user: "))
		return r->action = "user_created", iam_kv(m, r), r->user.n > 0;
	if (LX_EAT(&m, "new group: ") ||
	    (LX_EAT(&m, "group added to ") && LX_SPLIT(m, ": ", &path, &m))) {
		r->is_group = true;
		return r->action = "group_created", iam_kv(m, r), r->group.n > 0;
	}
	if (LX_EAT(&m, "add '"))
		return iam_group_member(m, r, "user_added_to_group", true);
	if (LX_EAT(&m, "delete user '"))
		return r->action = "user_deleted", quoted(&m, &r->user);
	if (LX_EAT(&m, "delete '"))
		return iam_group_member(m, r, "user_removed_from_group", false);
	if (LX_EAT(&m, "user "))
		return iam_gpasswd(m, r);
	if (LX_EAT(&m, "members of group "))
		return iam_gpasswd_set(m, r);
	if (LX_EAT(&m, "removed group '") || LX_EAT(&m, "removed shadow group '") ||
	    LX_EAT(&m, "group '")) {
		r->action = "group_deleted";
		if (!quoted(&m, &r->group))
			return false;
		if (LX_EAT(&m, " owned by '"))
			return quoted(&m, &r->user);
		return LX_STARTS(m, " removed");
	}
	if (LX_EAT(&m, "failed adding user '")) {
		r->outcome = "failure";
		return r->action = "user_created", quoted(&m, &r->user);
	}
	if (iam_user_change(m, r))
		return true;
	return LX_FIND(m, " failed to ") && iam_gpasswd_failed(m, r);
}

/* The comma-separated names of list as the array field key under the object
 * at path (gpasswd -M's members). */
static void iam_list(lx_out *o, const char *path, const char *key, lx_sv list)
{
	lx_sv item;
	int obj, arr;

	if (o->rc || !list.n)
		return;
	if ((obj = core_event_set_object(o->ev, path)) < 0 ||
	    (arr = core_event_add_array(o->ev, (uint32_t)obj, key, strlen(key))) < 0) {
		lx_keep(o, obj < 0 ? obj : arr);
		return;
	}
	while (list.n && !o->rc) {
		item = upto(list, ',', &list);
		if (item.n)
			lx_keep(o, core_event_add_str(o->ev, (uint32_t)arr, NULL, 0, item.p, item.n));
	}
}

static void lx_shadow(lx_out *o, lx_sv m)
{
	iam_rec r = {0};

	if (!iam_match(m, &r))
		return;
	lx_event(o, "iam", r.action, r.outcome);
	lx_str(o, "user.name", r.actor);
	lx_str(o, "user.target.name", r.user);
	iam_list(o, "user.target", "name", r.members);
	lx_str(o, "user.target.id", r.uid);
	if (r.is_group)
		lx_str(o, "group.id", r.gid);
	else
		lx_str(o, "user.target.group.id", r.gid);
	lx_str(o, "group.name", r.group);
	lx_str(o, "user.changes.name", r.new_name);
	lx_str(o, "user.changes.id", r.new_uid);
	lx_str(o, "user.changes.group.id", r.new_gid);
	lx_str(o, "system.auth.usermod.attribute", r.attr);
	lx_str(o, "system.auth.usermod.old", r.old);
	lx_str(o, "system.auth.usermod.new", r.new_val);
	lx_str(o, "system.auth.useradd.home", r.home);
	lx_str(o, "system.auth.useradd.shell", r.shell);
	lx_str(o, "system.auth.useradd.from", r.from);
}

/* ==== cron / crontab ===================================================== */

/* "(root) CMD (command)", "(root) RELOAD (crontabs/root)", crontab's
 * "(alice) REPLACE (alice)", "(alice) BEGIN EDIT (alice)", "END EDIT", "LIST",
 * "DELETE". The detail is inside the last pair of parentheses. */
static void lx_cron(lx_out *o, lx_sv m)
{
	static const struct {
		const char *word, *action, *category;
		unsigned char n;
	} words[] = {
		{"CMD (", "cron_command", "process", 5},
		{"RELOAD (", "cron_reload", "configuration", 8},
		{"REPLACE (", "crontab_replace", "configuration", 9},
		{"BEGIN EDIT (", "crontab_edit_begin", "configuration", 12},
		{"END EDIT (", "crontab_edit_end", "configuration", 10},
		{"LIST (", "crontab_list", "configuration", 6},
		{"DELETE (", "crontab_delete", "configuration", 8},
	};
	lx_sv user, rest;

	if (!LX_EAT(&m, "(") || !LX_CHOP(&m, ")"))
		return;
	user = upto(m, ')', &rest);
	if (!user.n || user.n > 64 || !LX_EAT(&rest, " "))
		return;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (!lx_eat(&rest, words[i].word, words[i].n))
			continue;
		lx_event(o, words[i].category, words[i].action, "success");
		lx_str(o, "user.name", user);
		if (i == 0)
			lx_str(o, "process.command_line", lx_trim(rest));
		else if (i == 1)
			lx_str(o, "file.path", rest);
		else
			lx_str(o, "user.target.name", rest);
		return;
	}
}

/* ==== systemd and systemd-logind ============================================= */

/* A unit name: no space and one of the unit type suffixes. */
static bool unit_name(lx_sv s)
{
	static const char *const types[] = {".service", ".socket", ".target", ".timer",
					    ".mount",   ".automount", ".scope", ".slice",
					    ".path",    ".device",  ".swap"};

	if (!s.n || memchr(s.p, ' ', s.n))
		return false;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (lx_chop(&s, types[i], strlen(types[i])))
			return s.n > 0;
	return false;
}

/* "UNIT - Description" (systemd 249+) or "Description": unit and description. */
static void sd_describe(lx_out *o, lx_sv d)
{
	lx_sv unit, desc;

	if (LX_SPLIT(d, " - ", &unit, &desc) && unit_name(unit)) {
		lx_str(o, "systemd.unit", unit);
		lx_str(o, "systemd.description", desc);
	} else if (unit_name(d)) {
		lx_str(o, "systemd.unit", d);
	} else {
		lx_str(o, "systemd.description", d);
	}
}

/* "UNIT: Failed with result 'exit-code'.", "UNIT: Deactivated successfully.",
 * "UNIT: Main process exited, code=exited, status=1/FAILURE". */
static void sd_unit_line(lx_out *o, lx_sv m)
{
	lx_sv unit, rest, result = {0}, code = {0}, status = {0};
	const char *action, *outcome = "success";

	if (!LX_SPLIT(m, ": ", &unit, &rest) || !unit_name(unit))
		return;
	if (LX_EAT(&rest, "Failed with result '")) {
		result = upto(rest, '\'', &rest);
		action = "service_failed";
		outcome = "failure";
	} else if (LX_EQ(rest, "Deactivated successfully.") || LX_EQ(rest, "Succeeded.")) {
		action = "service_deactivated";
	} else if (LX_EAT(&rest, "Main process exited, code=")) {
		code = upto(rest, ',', &rest);
		LX_EAT(&rest, " status=");
		status = lx_trim(rest);
		action = "service_exited";
		outcome = LX_STARTS(status, "0/") ? "success" : "failure";
	} else if (LX_STARTS(rest, "Scheduled restart job")) {
		action = "service_restart_scheduled";
		outcome = "unknown";
	} else {
		return;
	}
	lx_event(o, "process", action, outcome);
	lx_str(o, "systemd.unit", unit);
	lx_str(o, "systemd.result", result);
	lx_str(o, "systemd.exit_code", code);
	lx_str(o, "systemd.exit_status", status);
}

/* "PID[ ('COMM')][ (unit UNIT)]..." after "... requested from client PID ":
 * the process that asked the manager (over D-Bus) for a reload or
 * re-execution. */
static void sd_client(lx_out *o, lx_sv r, const char *action)
{
	lx_sv comm = {0}, unit = {0};
	size_t d = digits_at(r, 0, 10);
	int64_t pid;

	if (!d || core_parse_i64(r.p, d, &pid) != 0 || !LX_CHOP(&r, "..."))
		return;
	r = sv_from(r, d);
	if (LX_EAT(&r, " ('") && !LX_SPLIT(r, "')", &comm, &r))
		return;
	if (LX_EAT(&r, " (unit ")) {
		if (!LX_CHOP(&r, ")") || !unit_name(r))
			return;
		unit = r;
		r.n = 0;
	}
	if (r.n)
		return;
	lx_event(o, "configuration", action, "unknown");
	lx_int(o, "systemd.client.pid", pid);
	lx_str(o, "systemd.client.name", comm);
	lx_str(o, "systemd.client.unit", unit);
}

/* The manager's own reload and re-execution (systemctl daemon-reload,
 * daemon-reexec): "Reloading requested from client PID 1234 ('systemctl')
 * (unit session-5.scope)..." ("Reload requested ..." in newer versions),
 * "Reloading.", "Reloading...", "Reloading finished in 651 ms.", "Reloading
 * request rejected due to rate limit.", "Reexecuting requested from ...",
 * "Reexecuting.". */
static bool sd_manager(lx_out *o, lx_sv m)
{
	static const struct {
		const char *word, *action;
		unsigned char n;
	} words[] = {
		{"Reloading", "daemon_reload", 9},
		{"Reload", "daemon_reload", 6},
		{"Reexecuting", "daemon_reexec", 11},
		{"Reexecute", "daemon_reexec", 9},
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		lx_sv r = m;
		if (!lx_eat(&r, words[i].word, words[i].n))
			continue;
		if (LX_EAT(&r, " requested from client PID ")) {
			sd_client(o, r, words[i].action); /* never a unit's reload */
			return true;
		}
		if (i == 1 || i == 3)
			continue;
		if (LX_EQ(r, ".") || LX_EQ(r, "...")) {
			lx_event(o, "configuration", words[i].action, "unknown");
			return true;
		}
		if (i == 0 && LX_EQ(r, " request rejected due to rate limit.")) {
			lx_event(o, "configuration", "daemon_reload", "failure");
			return true;
		}
		if (i == 0 && LX_EAT(&r, " finished in ")) { /* never a unit's reload */
			if (LX_CHOP(&r, " ms.") && r.n && r.n <= 12 && digits_at(r, 0, 12) == r.n &&
			    core_parse_i64(r.p, r.n, &ms) == 0) {
				lx_event(o, "configuration", "daemon_reloaded", "success");
				lx_int(o, "event.duration", ms * 1000000);
			}
			return true;
		}
	}
	return false;
}

static void lx_systemd(lx_out *o, lx_sv m)
{
	static const struct {
		const char *verb, *action, *outcome;
		unsigned char n;
	} verbs[] = {
		{"Started ", "service_started", "success", 8},
		{"Stopped ", "service_stopped", "success", 8},
		{"Starting ", "service_starting", "unknown", 9},
		{"Stopping ", "service_stopping", "unknown", 9},
		{"Failed to start ", "service_start_failed", "failure", 16},
		{"Reloaded ", "service_reloaded", "success", 9},
		{"Reloading ", "service_reloading", "unknown", 10},
		{"Created slice ", "slice_created", "success", 14},
		{"Removed slice ", "slice_removed", "success", 14},
		{"Reached target ", "target_reached", "success", 15},
	};

	if (sd_manager(o, m))
		return;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		lx_sv d = m;
		if (!lx_eat(&d, verbs[i].verb, verbs[i].n))
			continue;
		if (!LX_CHOP(&d, "...") && !LX_CHOP(&d, "."))
			return;
		if (!d.n)
			return;
		lx_event(o, "process", verbs[i].action, verbs[i].outcome);
		sd_describe(o, d);
		return;
	}
	sd_unit_line(o, m);
}

/* "New session 5 of user alice.", "Removed session 5.", "Session 5 logged out.
 * Waiting for processes to exit." */
static void lx_logind(lx_out *o, lx_sv m)
{
	lx_sv id = {0}, user = {0}, rest;
	const char *action;

	if (LX_EAT(&m, "New session ")) {
		id = upto(m, ' ', &rest);
		if (!LX_EAT(&rest, "of user ") || !LX_CHOP(&rest, "."))
			return;
		user = rest;
		action = "logind_session_created";
	} else if (LX_EAT(&m, "Removed session ")) {
		if (!LX_CHOP(&m, "."))
			return;
		id = m;
		action = "logind_session_removed";
	} else if (LX_EAT(&m, "Session ")) {
		id = upto(m, ' ', &rest);
		if (!LX_STARTS(rest, "logged out."))
			return;
		action = "logind_session_logout";
	} else {
		return;
	}
	if (!id.n || memchr(id.p, ' ', id.n))
		return;
	lx_event(o, "session", action, "success");
	lx_str(o, "user.name", user);
	lx_str(o, "systemd.session_id", id);
}

/* ==== kernel ================================================================ */

static void lx_kernel(lx_out *o, lx_sv m)
{
	if (!o->rc)
		lx_keep(o, parse_linux_netfilter(o->cx, o->ev, m.p, m.n));
}

/* ==== dispatch ============================================================== */

typedef void (*lx_fn)(lx_out *o, lx_sv m);

static const struct lx_prog {
	const char *name;
	unsigned char n;
	lx_fn fn;
} progs[] = {
	{"sshd", 4, lx_sshd},          {"sshd-session", 12, lx_sshd}, {"sshd-auth", 9, lx_sshd},
	{"sudo", 4, lx_sudo},          {"su", 2, lx_su},              {"CRON", 4, lx_cron},
	{"cron", 4, lx_cron},          {"crond", 5, lx_cron},         {"CROND", 5, lx_cron},
	{"crontab", 7, lx_cron},       {"systemd", 7, lx_systemd},    {"systemd-logind", 14, lx_logind},
	{"kernel", 6, lx_kernel},      {"useradd", 7, lx_shadow},     {"usermod", 7, lx_shadow},
	{"userdel", 7, lx_shadow},     {"groupadd", 8, lx_shadow},    {"groupdel", 8, lx_shadow},
	{"groupmod", 8, lx_shadow},    {"passwd", 6, lx_shadow},      {"chpasswd", 8, lx_shadow},
	{"gpasswd", 7, lx_shadow},     {"chage", 5, lx_shadow},       {"newusers", 8, lx_shadow},
	{"chsh", 4, lx_shadow},        {"chfn", 4, lx_shadow},        {"login", 5, lx_login},
};

static lx_fn find_prog(const char *prog, size_t n)
{
	if (n == 0 || n > 14)
		return NULL;
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++)
		if (progs[i].n == n && progs[i].name[0] == prog[0] && memcmp(progs[i].name, prog, n) == 0)
			return progs[i].fn;
	return NULL;
}

int parse_linux_message(parse_ctx *cx, core_event *ev, const char *prog, size_t prog_len,
			const char *msg, size_t msg_len)
{
	lx_out o = {.cx = cx, .ev = ev, .rc = 0};
	lx_sv m = lx_sv_make(msg, msg_len);
	lx_fn fn;

	if (msg_len < 4)
		return 0;
	if (msg[0] == 'p' && LX_STARTS(m, "pam_"))
		lx_pam(&o, m);
	else if (msg[0] == 'P' && LX_STARTS(m, "PAM "))
		lx_pam_more(&o, m);
	else if (msg[0] == '<' && (LX_STARTS(m, "<Event>") || LX_STARTS(m, "<Event ")))
		lx_keep(&o, parse_linux_sysmon_xml(cx, ev, msg, msg_len));
	else if ((fn = find_prog(prog, prog_len)) != NULL)
		fn(&o, m);
	return o.rc;
}
