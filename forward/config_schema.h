/* mdmlab's config schema: the core keys plus the keys of every registered task, process and
 * backend (each module's ConfigSection), derived from the three registries. */
#ifndef MDMLAB_CONFIG_SCHEMA_H
#define MDMLAB_CONFIG_SCHEMA_H

#include "base/config.h"

const ConfigSchema *mdmlab_config_schema(void);
/* Every key of the schema at its default. */
void config_defaults(Config *cfg);

#endif
