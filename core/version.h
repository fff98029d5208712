/*
 * The version of the beian gate: the nginx module, beian-sync and the
 * Debian packages (debian/changelog must name the same version; `make deb`
 * refuses to build when they differ).  Bump it here, add an entry to CHANGES
 * and to debian/changelog, in one commit.
 */

#ifndef BEIAN_VERSION_H
#define BEIAN_VERSION_H

#define BEIAN_VERSION  "0.1.0"

#endif /* BEIAN_VERSION_H */
