#!/bin/bash
# Configures the nginx source tree in the current directory.  The nginx-dev
# tree carries the flags Debian built /usr/sbin/nginx with (conf_flags);
# using them keeps the module's binary signature loadable into that nginx.
set -e
flags=(--with-compat --with-http_v2_module --with-http_ssl_module)
if [ -f conf_flags ]; then
    . ./conf_flags
    flags=("${NGX_CONF_FLAGS[@]}")
fi
# a release tarball has ./configure; a tree from the nginx repository has
# only auto/configure (run from the top of the tree, like ./configure)
configure=./configure
[ -f ./configure ] || configure=auto/configure
exec "$configure" "${flags[@]}" \
    --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 ${EXTRA_CC_OPT:-}" \
    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC ${EXTRA_LD_OPT:-}" \
    "$@"
