#!/bin/bash
# Configures the nginx source tree in the current directory.  The nginx-dev
# tree carries the flags Debian built /usr/sbin/nginx with (conf_flags);
# using them keeps the module's binary signature loadable into that nginx.
# Any other tree (a release tarball, or a repository checkout, which has
# auto/configure instead of ./configure) gets --with-compat and the modules
# the tests use, HTTP/3 where the tree has it.  Both get stream as a dynamic
# module, as Debian's nginx was configured (nginx -V) though conf_flags
# leaves it out.
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
# stream as Debian builds it (libnginx-mod-stream), for the stream gate;
# linked in where the gate is (make static)
stream=--with-stream=dynamic
case " $* " in *" --add-module="*) stream=--with-stream ;; esac
for f in $stream --with-stream_ssl_module \
         --with-stream_ssl_preread_module --with-stream_realip_module; do
    case " ${flags[*]} " in *" ${f%%=*}"[=\ ]*) ;; *) flags+=("$f") ;; esac
done
exec "$configure" "${flags[@]}" \
    --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 ${EXTRA_CC_OPT:-}" \
    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC ${EXTRA_LD_OPT:-}" \
    "$@"
