/* bus/bus_config.h — the configuration keys every service that uses the bus declares.
 * A service adds rw_bus_cfg_spec to its rw_config_t and reads the values with the
 * rw_config_* getters; clients of other services declare "<service>.endpoints" themselves
 * (e.g. "router.endpoints" in sip-edge), empty meaning "from the Redis registry".
 * Documented in docs/configuration.md, section Bus. */
#ifndef RW_BUS_CONFIG_H
#define RW_BUS_CONFIG_H

#include "common/config.h"

/* bus.pub, bus.discovery_ttl_ms, bus.discovery_poll_ms, bus.curve_cert, bus.curve_allow. A service that answers requests
 * declares "<service>.bind" (and "<service>.announce") itself. */
extern const rw_cfg_spec_t rw_bus_cfg_spec[];

#endif
