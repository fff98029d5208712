#!/bin/sh
# Builds the module against several nginx releases and, with --full, a
# complete nginx of the last one (module linked dynamically) to run the t/
# suites against:
#
#   sh .ci/compat.sh GITDIR [--full] TAG...
#
# GITDIR is a git directory of the nginx repository (github.com/nginx/nginx,
# e.g. a bare clone); each TAG (release-1.18.0 ...) is extracted with
# git archive into build/compat/TAG/src, which has auto/configure and no
# ./configure: the same path `make NGINX_SRC=DIR` takes.  nginx compiles
# with -Werror, so a build is also a "no warning" check.  Prints one line
# per tag; exits non-zero if any build failed.
set -eu
cd "$(dirname "$0")/.."

git_dir=$1
shift
full=
if [ "${1:-}" = --full ]; then
    full=1
    shift
fi

# nginx before 1.21.5 knows only the old PCRE
BEIAN_EXTRA_PKGS=libpcre3-dev sh .ci/deps.sh

root=$PWD/build/compat
mkdir -p "$root"
failed=0
last=

for tag in "$@"; do
    dir=$root/$tag
    rm -rf "$dir" && mkdir -p "$dir/src"
    git --git-dir="$git_dir" archive "$tag" | tar -x -C "$dir/src"

    if make -s module B="$dir/b" NGINX_SRC="$dir/src" \
        >"$dir/build.log" 2>&1
    then
        echo "$tag: dynamic module built ($dir/b/ngx_http_beian_module.so)"
    else
        echo "$tag: FAILED (tail of $dir/build.log):"
        tail -20 "$dir/build.log"
        failed=1
    fi
    last=$tag
done

if [ -n "$full" ] && [ -n "$last" ]; then
    # the whole nginx of that tree, as configured for the module above;
    # HTTP/3 too where the release has it (1.25.0 and later)
    dir=$root/$last
    v3=
    grep -q 'with-http_v3_module' "$dir/src/auto/options" \
        && v3=--with-http_v3_module
    (cd "$dir/b/nginx" \
        && bash "$OLDPWD/.ci/configure-nginx.sh" $v3 \
               --add-dynamic-module="$OLDPWD" >configure-full.log 2>&1 \
        && make -s -f objs/Makefile >"$dir/full.log" 2>&1 \
        && cp objs/ngx_http_beian_module.so "$dir/b/ngx_http_beian_module.so") \
        || { echo "$last: full nginx build FAILED"; tail -20 "$dir/full.log"; \
             exit 1; }
    echo "$last: nginx $dir/b/nginx/objs/nginx ($("$dir/b/nginx/objs/nginx" -v 2>&1))"
    echo "run the suites: TEST_NGINX_BINARY=$dir/b/nginx/objs/nginx" \
         "TEST_NGINX_LOAD_MODULES=$dir/b/ngx_http_beian_module.so sh t/run.sh"
fi

exit $failed
