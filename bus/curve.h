/* bus/curve.h — CurveZMQ for every bus socket of the process (docs/bus.md, "Encryption").
 * One key pair for the deployment, a czmq certificate: FILE (public key) and FILE_secret (both
 * keys, kept private), made by `ringway bus keygen FILE`. Once enabled, every socket the
 * process binds (PUB, ROUTER) is a CURVE server with that key pair and accepts only clients
 * whose public key is among the certificates in the allow directory (czmq's zauth as the ZAP
 * handler); every socket it connects (SUB, DEALER) is a CURVE client with the key pair,
 * expecting the same server key. Not enabled: plain ZMTP (one site on a private network).
 * Process-wide: enable once, before any bus object is created; loop thread only. */
#ifndef RW_BUS_CURVE_H
#define RW_BUS_CURVE_H

/* cert_file: FILE as above (FILE_secret must exist beside it). allow_dir: the certificates
 * (public or secret files) whose holders may connect; NULL or "" = cert_file's directory.
 * 0; RW_EINVAL (already enabled, unreadable certificate, no secret key, no such directory);
 * RW_EIO (libzmq built without CURVE, or the ZAP handler did not start). Logs why. */
int rw_bus_curve_enable(const char *cert_file, const char *allow_dir);
/* Stops the ZAP handler and forgets the key pair (sockets already made keep their keys). */
void rw_bus_curve_disable(void);
int rw_bus_curve_enabled(void);
/* Writes a new key pair to FILE and FILE_secret (0600). 0 or RW_EIO. */
int rw_bus_curve_keygen(const char *cert_file);

#endif
