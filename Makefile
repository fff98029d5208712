# beian gate: nginx module + beian-sync.  See README.md.
#
#   make              build/ngx_http_beian_module.so and build/beian-sync
#   make run          end-to-end demo on 127.0.0.1 with the sample in conf/
#   make test         unit tests + Test::Nginx suites (what CI runs)
#   make test-nginx   the t/ suites alone (real Test::Nginx if installed)
#   make static       nginx with the module linked in statically (check)
#   make deb          Debian packages into build/deb/ (debian/, README)
#   make test-deb     installs, exercises and purges those packages (root)

prefix     ?= /usr/local
DESTDIR    ?=
NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
# nginx's own stream module, loaded before ours in the t/ suites
# (Debian: libnginx-mod-stream; a source tree: $(B)/nginx/objs/...)
NGINX_STREAM_MODULE ?= /usr/lib/nginx/modules/ngx_stream_module.so
B          := build

CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes
CPPFLAGS   += -D_GNU_SOURCE -Icore -Isync-tool
SAN        ?=
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SAN) -fstack-protector-strong \
              -D_FORTIFY_SOURCE=2
LIBS_CORE  := -llmdb
LIBS_SYNC  := -ljansson -lpcre2-8 -lidn2 -lpsl -lcrypto -lcurl -lpthread

CORE_SRC   := core/host.c core/snapshot.c core/lmdb_check.c core/topk.c \
              core/hello.c
CORE_W_SRC := core/snapshot_write.c
SYNC_SRC   := $(filter-out sync-tool/main.c,$(wildcard sync-tool/*.c))
CORE_OBJ   := $(CORE_SRC:%.c=$(B)/obj/%.o)
CORE_W_OBJ := $(CORE_W_SRC:%.c=$(B)/obj/%.o)
SYNC_OBJ   := $(SYNC_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC   := $(wildcard tests/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/%.c=$(B)/tests/%)
MODULE_SRC := $(wildcard ngx_http_beian_module/*.[ch] \
                ngx_stream_beian_module/*.[ch] ngx_beian_common/*.[ch]) \
              $(CORE_SRC) $(wildcard core/*.h) config

all: module tool

deps:
	@sh .ci/deps.sh

tool: $(B)/beian-sync
module: $(B)/ngx_http_beian_module.so $(B)/ngx_stream_beian_module.so

$(B)/obj/%.o: %.c $(wildcard core/*.h) $(wildcard sync-tool/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(B)/beian-sync: $(B)/obj/sync-tool/main.o $(SYNC_OBJ) $(CORE_OBJ) $(CORE_W_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_SYNC) $(LIBS_CORE)

$(B)/tests/%: tests/%.c $(SYNC_OBJ) $(CORE_OBJ) $(CORE_W_OBJ) tests/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) -o $@ $< $(SYNC_OBJ) \
	    $(CORE_OBJ) $(CORE_W_OBJ) -lcmocka $(LIBS_SYNC) $(LIBS_CORE)

# The dynamic module is built by nginx's own build system from a copy of the
# nginx-dev tree configured with Debian's flags, so its binary signature
# matches /usr/sbin/nginx.
$(B)/nginx/objs/Makefile: config
	@test -f $(NGINX_SRC)/src/core/nginx.h || { echo "no nginx source tree" \
	    "at $(NGINX_SRC): install Debian's nginx-dev (apt-get install" \
	    "nginx-dev, or make deps), or give one with NGINX_SRC=DIR" >&2; \
	    exit 1; }
	rm -rf $(B)/nginx && mkdir -p $(B) && cp -r $(NGINX_SRC) $(B)/nginx
	cd $(B)/nginx && bash $(CURDIR)/.ci/configure-nginx.sh \
	    --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -30 configure.log; exit 1; }

# Only our modules: the nginx-dev tree has no sources for nginx's own
# dynamic modules (stream), the other .so is built alongside.
$(B)/ngx_http_beian_module.so $(B)/ngx_stream_beian_module.so &: \
    $(B)/nginx/objs/Makefile $(MODULE_SRC)
	$(MAKE) -C $(B)/nginx -f objs/Makefile \
	    objs/ngx_http_beian_module.so objs/ngx_stream_beian_module.so \
	    >/dev/null
	@# new files, renamed into place: an nginx that has the old ones
	@# mapped must not see their code change under it
	for m in ngx_http_beian_module ngx_stream_beian_module; do \
	    cp $(B)/nginx/objs/$$m.so $(B)/$$m.so.tmp && \
	    mv -f $(B)/$$m.so.tmp $(B)/$$m.so || exit 1; \
	done

# With NGINX_SRC a full source tree (a release, or a checkout of
# github.com/nginx/nginx), the nginx binary of that tree, to run the suites
# against: TEST_NGINX_BINARY=$(B)/nginx/objs/nginx, with
# NGINX_STREAM_MODULE=$(B)/nginx/objs/ngx_stream_module.so
nginx-binary: $(B)/nginx/objs/Makefile
	@test -f $(B)/nginx/src/core/nginx.c || \
	    { echo "nginx-binary: NGINX_SRC must be a full source tree" >&2; exit 1; }
	$(MAKE) -C $(B)/nginx -f objs/Makefile binary modules >/dev/null

# A static nginx with the module compiled in, to prove --add-module works.
# nginx-dev has headers only, so this needs a full source tree: NGINX_SRC if
# it is one, else the upstream source of Debian's nginx from the archive.
STATIC_SRC := $(if $(wildcard $(NGINX_SRC)/src/core/nginx.c),$(NGINX_SRC),$(B)/nginx-upstream)

static: $(B)/nginx-static/objs/nginx
	$(B)/nginx-static/objs/nginx -V 2>&1 | grep -q 'add-module=$(CURDIR)'
	@echo "static build ok: $(B)/nginx-static/objs/nginx"

$(B)/nginx-upstream/src/core/nginx.c:
	sh .ci/nginx-source.sh $(B)/nginx-upstream

$(B)/nginx-static/objs/nginx: config $(MODULE_SRC) $(STATIC_SRC)/src/core/nginx.c
	rm -rf $(B)/nginx-static && mkdir -p $(B) && \
	    cp -r $(STATIC_SRC) $(B)/nginx-static
	cd $(B)/nginx-static && bash $(CURDIR)/.ci/configure-nginx.sh \
	    --add-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -30 configure.log; exit 1; }
	$(MAKE) -C $(B)/nginx-static -f objs/Makefile >/dev/null

run: deps all
	@sh conf/run.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test: deps all unit fuzz-replay test-nginx test-sync

test-nginx: all
	@BEIAN_SYNC=$(abspath $(B))/beian-sync \
	    TEST_NGINX_LOAD_MODULES="$(abspath $(NGINX_STREAM_MODULE)) \
	        $(abspath $(B))/ngx_http_beian_module.so \
	        $(abspath $(B))/ngx_stream_beian_module.so" \
	    sh t/run.sh

# beian-sync against a mock provider and real nginx (tests/integration)
test-sync: all
	@BEIAN_SYNC=$(abspath $(B))/beian-sync \
	    BEIAN_MODULE=$(abspath $(B))/ngx_http_beian_module.so \
	    python3 -m unittest discover -s tests/integration -v

install: all install-tool
	install -d $(DESTDIR)/usr/lib/nginx/modules
	install -m 644 $(B)/ngx_http_beian_module.so \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_http_beian_module.so
	install -m 644 $(B)/ngx_stream_beian_module.so \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_stream_beian_module.so

# beian-sync and its man page (the Debian package uses this too)
install-tool: tool
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/share/man/man1
	install -m 755 $(B)/beian-sync $(DESTDIR)$(prefix)/bin/beian-sync
	install -m 644 sync-tool/beian-sync.1 \
	    $(DESTDIR)$(prefix)/share/man/man1/beian-sync.1

clean:
	rm -rf $(B) t/servroot*


# ---------------------------------------------------------------------------
# Debian packages (debian/): dpkg-buildpackage -b on a copy of the tree in
# build/deb/src, so the checkout stays clean; the .debs land in build/deb/.
# libnginx-mod-stream-beian is built only when the addon script `config`
# builds ngx_stream_beian_module (build profile pkg.beian-gate.stream).
DEB_B        := $(B)/deb
DEB_PROFILES := $(if $(shell grep -s -l ngx_stream_beian_module config),\
                  pkg.beian-gate.stream)

deb:
	@BEIAN_EXTRA_PKGS="debhelper lintian $(if $(strip $(DEB_PROFILES)),libnginx-mod-stream)" \
	    sh .ci/deps.sh
	rm -rf $(DEB_B) && mkdir -p $(DEB_B)/src
	tar -c --exclude-vcs --exclude=./build --exclude='./t/servroot*' \
	    --exclude=./bench/out --exclude=__pycache__ . | tar -x -C $(DEB_B)/src
	cd $(DEB_B)/src && DEB_BUILD_OPTIONS="noautodbgsym $(DEB_BUILD_OPTIONS)" dpkg-buildpackage \
	    -b --no-sign $(if $(strip $(DEB_PROFILES)),-P$(strip $(DEB_PROFILES))) \
	    >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	lintian --fail-on error $(DEB_B)/*.changes
	@ls -1 $(DEB_B)/*.deb

test-deb: deb
	@bash .ci/test-deb.sh $(DEB_B)


# ---------------------------------------------------------------------------
# Fuzzing, sanitizers and valgrind (fuzz/README.md).  Own build dirs only:
# build/fuzz, build/asan, build/valgrind.
#
#   make fuzz            each libFuzzer target (clang) for FUZZ_SECONDS (60)
#                        on a scratch copy of its corpus; never writes to
#                        fuzz/corpus
#   make fuzz-replay     fuzz/corpus and fuzz/regressions through each target
#                        without libFuzzer (gcc, ASan+UBSan)
#   make test-asan       tool, unit tests, t/ suites, tests/integration under
#                        ASan+UBSan; fails on any sanitizer report
#   make test-valgrind   t/ suites with nginx under valgrind memcheck; fails
#                        on any error that involves our code

FUZZ_B       := build/fuzz
FUZZ_TARGETS := host records snapshot hello
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_DEPS    := $(CORE_SRC) $(CORE_W_SRC) $(SYNC_SRC) fuzz/common.c \
                core/beian.h $(wildcard sync-tool/*.h) fuzz/fuzz.h
# Sources per target: only "records" needs the tool's code.  No -Werror:
# code under way elsewhere may warn with these flags and must not stop us.
fuzz_src      = $(CORE_SRC) $(CORE_W_SRC) fuzz/common.c \
                $(if $(filter records,$1),$(SYNC_SRC))
FUZZ_WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes

.PHONY: fuzz fuzz-deps fuzz-replay test-asan test-valgrind test-pristine \
        screenshots

$(FUZZ_B)/fuzz-%: fuzz/fuzz_%.c $(FUZZ_DEPS) | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 -g -O1 $(FUZZ_WARN) -fsanitize=fuzzer \
	    $(FUZZ_SAN) -o $@ $< $(call fuzz_src,$*) $(LIBS_SYNC) $(LIBS_CORE)

$(FUZZ_B)/replay-%: fuzz/fuzz_%.c fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 -g -O1 $(FUZZ_WARN) $(FUZZ_SAN) -o $@ $< \
	    fuzz/replay.c $(call fuzz_src,$*) $(LIBS_SYNC) $(LIBS_CORE)

# Writes fuzz/corpus/snapshot/*.seed: build/fuzz/mksnapshots DIR
$(FUZZ_B)/mksnapshots: fuzz/mksnapshots.c $(CORE_SRC) $(CORE_W_SRC) \
    core/beian.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 $(WARN) -g -O1 -o $@ $< $(CORE_SRC) \
	    $(CORE_W_SRC) -lcrypto $(LIBS_CORE)

fuzz-deps:
	@BEIAN_EXTRA_PKGS="clang" sh .ci/deps.sh

fuzz: fuzz-deps $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz-%)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(FUZZ_TARGETS)

fuzz-replay: $(FUZZ_TARGETS:%=$(FUZZ_B)/replay-%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_B)/replay-$$t \
	        fuzz/corpus/$$t fuzz/regressions/$$t; \
	done

test-asan:
	@sh .ci/asan.sh

# What a blocked visitor sees: headless Chromium, into docs/screenshots/
screenshots: module tool
	@sh .ci/screenshots.sh

# make test and make run in a debootstrap minbase Debian 12 chroot, from a
# clean clone of HEAD (needs root; several minutes)
test-pristine:
	@sh .ci/pristine.sh

test-valgrind:
	@sh .ci/valgrind.sh

# ---------------------------------------------------------------------------
# Benchmarks and soak (bench/; figures and how to read them: bench/RESULTS.md)
#   make bench                 gate vs gate off vs a `map $host` allowlist,
#                              N = 10, 100000, 1000000 (or BENCH_N=...)
#   BENCH_QUICK=1 make bench   smoke run: N = 10, 100000, short rounds
#   make soak                  nginx -s reload and beian_snapshot_check swaps
#                              under load; fails on any wrong response
#   make bench-insn            instructions per request under callgrind, gate
#                              vs gate off, N = 1000000 (INSN_N=...)
#   make bench-core-insn       the same for the core alone (host parse and
#                              match, in process), N = 1000000
.PHONY: bench soak bench-deps bench-insn bench-core-insn

bench-deps:
	@BEIAN_EXTRA_PKGS="wrk time util-linux" sh .ci/deps.sh

bench-insn: module tool
	@BEIAN_EXTRA_PKGS=valgrind sh .ci/deps.sh
	python3 bench/insn.py --bin $(B)

$(B)/core-insn: bench/core_insn.c $(CORE_SRC) $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ bench/core_insn.c $(CORE_SRC) \
	    $(LIBS_CORE)

bench-core-insn: tool $(B)/core-insn
	@BEIAN_EXTRA_PKGS=valgrind sh .ci/deps.sh
	python3 bench/core_insn.py --bin $(B)

$(B)/bench-lookup: bench/lookup.c $(CORE_SRC) $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ bench/lookup.c $(CORE_SRC) \
	    $(LIBS_CORE)

bench: bench-deps module tool $(B)/bench-lookup
	python3 bench/bench.py --bin $(B)

soak: bench-deps module tool
	python3 bench/soak.py --bin $(B)
