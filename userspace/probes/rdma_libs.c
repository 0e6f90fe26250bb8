// SPDX-License-Identifier: GPL-2.0
/*
 * Where the RDMA libraries are on this node, and where their functions start: what the uprobes
 * of rdma_uprobes attach to.
 *
 * Symbols are resolved here rather than by libbpf's func_name lookup because libibverbs
 * exports two definitions of several functions: the default one (ibv_reg_mr@@IBVERBS_1.1)
 * and a compat one for binaries linked in 2005 (ibv_reg_mr@IBVERBS_1.0); libbpf 1.1 calls that
 * ambiguous. Programs linked today bind to the default version, which is the one without the
 * "hidden" bit in .gnu.version.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rdma.h"

#define VERSYM_HIDDEN 0x8000

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH "unknown"
#endif

static const char *const sonames[] = {"librdmacm.so.1", "libibverbs.so.1"};

/* Section of the given type, with its header. */
static Elf_Scn *find_scn(Elf *e, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

/* Index of the default-version function sym in the symbol section, or -ENOENT. */
static long find_sym(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, Elf_Data *versym, const char *sym,
		     GElf_Sym *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; data && i < n; i++) {
		GElf_Versym vs = 0;
		const char *name;

		if (!gelf_getsym(data, (int)i, out) || GELF_ST_TYPE(out->st_info) != STT_FUNC ||
		    out->st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(e, sh->sh_link, out->st_name);
		if (!name || strcmp(name, sym))
			continue;
		if (versym && gelf_getversym(versym, (int)i, &vs) && (vs & VERSYM_HIDDEN))
			continue; /* a compat version (sym@VER, not sym@@VER) */
		return (long)i;
	}
	return -ENOENT;
}

/* Virtual address -> file offset through the loadable segments. */
static int vaddr_to_offset(Elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

int ns_elf_func_offset(const char *path, const char *sym, uint64_t *offset, uint64_t *vaddr)
{
	Elf_Data *versym = NULL;
	GElf_Shdr sh, vsh;
	Elf_Scn *scn, *vscn;
	GElf_Sym s;
	Elf *e = NULL;
	int fd, err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	scn = find_scn(e, SHT_DYNSYM, &sh);
	if (!scn)
		scn = find_scn(e, SHT_SYMTAB, &sh);
	if (!scn) {
		err = -ENOENT;
		goto cleanup;
	}
	vscn = sh.sh_type == SHT_DYNSYM ? find_scn(e, SHT_GNU_versym, &vsh) : NULL;
	if (vscn)
		versym = elf_getdata(vscn, NULL);
	err = (int)find_sym(e, scn, &sh, versym, sym, &s);
	if (err < 0)
		goto cleanup;
	if (vaddr)
		*vaddr = s.st_value;
	err = vaddr_to_offset(e, s.st_value, offset);
cleanup:
	elf_end(e);
	close(fd);
	return err;
}

struct found {
	char (*paths)[PATH_MAX];
	int n, max;
	dev_t dev[NS_RDMA_MAX_LIBS];
	ino_t ino[NS_RDMA_MAX_LIBS];
};

/* Add a library file once per inode (a uprobe is per inode: two paths, one probe). */
static bool add_file(struct found *f, const char *path)
{
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	for (int i = 0; i < f->n; i++)
		if (f->dev[i] == st.st_dev && f->ino[i] == st.st_ino)
			return true;
	if (f->n >= f->max || f->n >= NS_RDMA_MAX_LIBS)
		return true;
	if (!realpath(path, f->paths[f->n]))
		snprintf(f->paths[f->n], PATH_MAX, "%s", path);
	f->dev[f->n] = st.st_dev;
	f->ino[f->n] = st.st_ino;
	f->n++;
	return true;
}

static void add_dir(struct found *f, const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sonames[i]);
		add_file(f, path);
	}
}

/* Directories of an ld.so.conf file (with its "include" globs), in order. */
static void conf_dirs(struct found *f, const char *file, int depth)
{
	char line[PATH_MAX];
	FILE *in;

	if (depth > 3 || !(in = fopen(file, "re")))
		return;
	while (fgets(line, sizeof(line), in)) {
		char *p = line + strspn(line, " \t"), *end;

		end = p + strcspn(p, "#\n");
		*end = 0;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (!strncmp(p, "include", 7) && (p[7] == ' ' || p[7] == '\t')) {
			glob_t g;

			p += 8 + strspn(p + 8, " \t");
			if (!glob(p, 0, NULL, &g))
				for (size_t i = 0; i < g.gl_pathc; i++)
					conf_dirs(f, g.gl_pathv[i], depth + 1);
			globfree(&g);
		} else if (*p == '/') {
			add_dir(f, p);
		}
	}
	fclose(in);
}

int ns_rdma_find_libs(const char *lib_path, char paths[][PATH_MAX], int max, char *why,
		      size_t whylen)
{
	static const char *const defaults[] = {
		"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64", "/usr/lib64", "/lib",
		"/usr/lib"};
	struct found f = {.paths = paths, .max = max};
	char *list, *tok, *save = NULL;

	if (!lib_path || !*lib_path) {
		conf_dirs(&f, "/etc/ld.so.conf", 0);
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			add_dir(&f, defaults[i]);
		if (!f.n)
			snprintf(why, whylen,
				 "no librdmacm.so.1 or libibverbs.so.1 in the dynamic linker's "
				 "directories (set --rdma.lib-path)");
		return f.n;
	}
	list = strdup(lib_path);
	if (!list) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct stat st;

		if (stat(tok, &st)) {
			snprintf(why, whylen, "--rdma.lib-path %s: %s", tok, strerror(errno));
			continue;
		}
		if (S_ISDIR(st.st_mode))
			add_dir(&f, tok);
		else
			add_file(&f, tok);
	}
	free(list);
	if (!f.n && !*why)
		snprintf(why, whylen, "--rdma.lib-path %s: no librdmacm.so.1 or libibverbs.so.1",
			 lib_path);
	return f.n;
}
