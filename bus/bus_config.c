/* bus/bus_config.c — the bus's configuration keys (see bus/bus_config.h). */
#include "bus/bus_config.h"

const rw_cfg_spec_t rw_bus_cfg_spec[] = {
    { "bus.pub", RW_CFG_STR, "tcp://127.0.0.1:0", 0, 0,
      "Where this instance publishes its events (ZeroMQ endpoint; port 0 = any free port)" },
    { "bus.discovery_ttl_ms", RW_CFG_INT, "3000", 300, 600000,
      "How long a registry entry lives without a heartbeat; refreshed every third of it" },
    { "bus.discovery_poll_ms", RW_CFG_INT, "500", 50, 60000,
      "How often clients re-read the registry" },
    { "bus.curve_cert", RW_CFG_STR, "", 0, 0,
      "CurveZMQ certificate of the deployment (FILE, with FILE_secret beside it; `ringway bus keygen`): every bus socket encrypted and authenticated; empty = plain ZMTP" },
    { "bus.curve_allow", RW_CFG_STR, "", 0, 0,
      "Directory of the certificates whose holders may connect to this instance's bus sockets; empty = bus.curve_cert's directory" },
    { NULL, RW_CFG_STR, NULL, 0, 0, NULL },
};
