#!/bin/bash
# Configures the nginx source tree in the current directory.  The nginx-dev
# tree carries the flags Debian built /usr/sbin/nginx with (conf_flags);
# using them keeps the module's binary signature loadable into that nginx.
# Any other tree (a release tarball, or a repository checkout, which has
# auto/configure instead of ./configure) gets --with-compat and the modules
# the tests use, HTTP/3 where the tree has it.
set -e
flags=(--with-compat --with-http_v2_module --with-http_ssl_module)
configure=./configure
[ -x "$configure" ] || configure=auto/configure
if [ -f conf_flags ]; then
    . ./conf_flags
    flags=("${NGX_CONF_FLAGS[@]}")
elif grep -q http_v3_module auto/options; then
    flags+=(--with-http_v3_module)
fi
exec "$configure" "${flags[@]}" \
    --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 ${EXTRA_CC_OPT:-}" \
    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC ${EXTRA_LD_OPT:-}" \
    "$@"
