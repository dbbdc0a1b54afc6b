/**
 * Stands in for the `drachtio` vitest project when no drachtio-server binary is given: the project then
 * reports one skipped test saying how to run it (CI cannot build drachtio-server; docs/deploy-drachtio.md).
 */
import { it } from 'vitest';

it.skip('the sip suites on the C++ drachtio-server: set KUMO_TEST_DRACHTIO_BIN=/path/to/drachtio (build it as docs/deploy-drachtio.md says) and run `npm run test:drachtio`', () => undefined);
