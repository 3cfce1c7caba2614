/* detect.c: the detector (rules + logsource map + engine + correlations),
 * built from the configuration and swapped whole on reload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/server_int.h"
#include "server/server_paths.h"

const char *srv_default_rules(void)
{
	struct stat st;
	if (stat(SRV_RULES_SOURCE, &st) == 0 && S_ISDIR(st.st_mode))
		return SRV_RULES_SOURCE;
	return SRV_RULES_INSTALLED;
}

void srv_det_free(srv_det *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ntcorr; i++)
		corr_free(d->tcorr[i].c);
	free(d->tcorr);
	engine_free(d->eng);
	rules_ls_free(d->ls);
	rules_set_free(d->set);
	core_arena_free(d->arena);
	free((void *)d->enabled);
	free((void *)d->matches);
	pthread_mutex_destroy(&d->corr_mu);
	free(d);
}

corr_state *srv_det_corr(srv_det *d, uint32_t tenant)
{
	corr_state *c;
	for (size_t i = 0; i < d->ntcorr; i++)
		if (d->tcorr[i].tenant == tenant)
			return d->tcorr[i].c;
	if (core_grow((void **)&d->tcorr, &d->captcorr, d->ntcorr + 1, sizeof *d->tcorr, 4) != 0)
		return NULL;
	if ((c = corr_new(d->set, &(corr_options){.max_bytes = d->corr_memory})) == NULL)
		return NULL;
	d->tcorr[d->ntcorr++] = (struct srv_tcorr){tenant, c};
	return c;
}

srv_det *srv_det_acquire(srv *s)
{
	srv_det *d;
	pthread_mutex_lock(&s->det_mu);
	d = s->det;
	atomic_fetch_add(&d->refs, 1);
	pthread_mutex_unlock(&s->det_mu);
	return d;
}

void srv_det_release(srv_det *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		srv_det_free(d);
}

/* Rule files: the configured paths (or the project's default rules), then
 * the rules uploaded through the API (DATA/rules). */
static int load_rules(srv *s, srv_det *d, core_err *err)
{
	rules_options opt = {0};
	rules_placeholder *ph = NULL;
	const server_config *c = s->cfg;
	char up[4096];
	struct stat st;

	if (c->placeholders &&
	    rules_placeholders_load(c->placeholders, d->arena, &ph, &opt.nplaceholders, err) != 0)
		return CORE_EINVAL;
	opt.placeholders = ph;
	if ((d->set = rules_set_new(&opt)) == NULL)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	if (c->rules.n == 0 && rules_load_path(d->set, srv_default_rules()) != 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: cannot read the default rules", srv_default_rules());
	for (size_t i = 0; i < c->rules.n; i++)
		if (rules_load_path(d->set, c->rules.v[i]) != 0)
			return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: cannot read rules", c->rules.v[i]);
	snprintf(up, sizeof up, "%s/rules", c->data);
	if (stat(up, &st) == 0 && S_ISDIR(st.st_mode) && rules_load_path(d->set, up) != 0)
		return core_err_set(err, CORE_EIO, SIZE_MAX, "%s: cannot read rules", up);
	rules_set_link(d->set);
	for (size_t i = 0, shown = 0; i < d->set->nmsgs && shown < 20; i++) {
		const rules_msg *m = &d->set->msgs[i];
		if (m->severity != RULES_SEV_ERROR)
			continue;
		srv_log(s, true, "rules: %s:%u:%u: %s", m->file, m->line, m->col, m->reason);
		shown++;
	}
	return 0;
}

static int load_ls(srv *s, srv_det *d, core_err *err)
{
	int rc;
	if ((d->ls = rules_ls_new()) == NULL)
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	if ((rc = rules_ls_add_default(d->ls, err)) != 0)
		return rc;
	for (size_t i = 0; i < s->cfg->logsources.n; i++)
		if ((rc = rules_ls_add_file(d->ls, s->cfg->logsources.v[i], err)) != 0)
			return rc;
	return rules_ls_compile(d->ls, err);
}

static const char *rule_key(const rules_rule *r)
{
	return r->id ? r->id : r->name ? r->name : r->title ? r->title : "";
}

typedef struct disable_ctx {
	srv_det *d;
} disable_ctx;

static void disable_one(void *ud, const char *rule_id)
{
	srv_det *d = ((disable_ctx *)ud)->d;
	for (size_t i = 0; i < d->set->nrules; i++)
		if (strcmp(rule_key(&d->set->rules[i]), rule_id) == 0)
			atomic_store(&d->enabled[i], 0);
}

int srv_det_build(srv *s, srv_det **out, core_err *err)
{
	srv_det *d = calloc(1, sizeof *d);
	engine_info info;
	int rc = CORE_ENOMEM;

	*out = NULL;
	if (!d || pthread_mutex_init(&d->corr_mu, NULL) != 0) {
		free(d);
		return core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
	}
	atomic_init(&d->refs, 1);
	if ((d->arena = core_arena_new(1u << 16, 0)) == NULL)
		goto fail;
	if ((rc = load_rules(s, d, err)) != 0 || (rc = load_ls(s, d, err)) != 0 ||
	    (rc = engine_build(d->set, d->ls, NULL, &d->eng, err)) != 0)
		goto fail;
	d->corr_memory = s->cfg->corr_memory;
	d->corr = srv_det_corr(d, s->cfg->tenant);
	d->enabled = malloc(d->set->nrules + 1);
	d->matches = calloc(d->set->nrules + 1, sizeof *d->matches);
	if (!d->corr || !d->enabled || !d->matches) {
		rc = core_err_set(err, CORE_ENOMEM, SIZE_MAX, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < d->set->nrules; i++)
		atomic_init(&d->enabled[i], 1);
	if (s->st && (rc = store_rules_disabled(s->st, disable_one, &(disable_ctx){d}, err)) != 0)
		goto fail;
	d->generation = ++s->generation;
	engine_get_info(d->eng, &info);
	srv_log(s, false, "rules: %zu loaded (%zu detection, %zu correlations, %zu filters), %zu failed; "
		"%zu routed to no source; %zu not compiled",
		d->set->nloaded[0] + d->set->nloaded[1] + d->set->nloaded[2], info.rules, corr_count(d->corr),
		d->set->nloaded[RULES_KIND_FILTER], d->set->nfailed, info.unrouted, info.failed);
	*out = d;
	return 0;
fail:
	srv_det_free(d);
	return rc ? rc : CORE_ENOMEM;
}

int srv_det_reload(srv *s, core_err *err)
{
	srv_det *d, *old;
	int rc = srv_det_build(s, &d, err);
	if (rc) {
		atomic_fetch_add(&s->reload_failures, 1);
		return rc;
	}
	pthread_mutex_lock(&s->det_mu);
	old = s->det;
	s->det = d;
	pthread_mutex_unlock(&s->det_mu);
	srv_det_release(old);
	atomic_fetch_add(&s->reloads, 1);
	return 0;
}
