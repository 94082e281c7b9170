import { createEmbeddedDriver } from '@keytrail/clickhouse';
import { clickHouseDriverSuite } from './kit/clickhouseDriverSuite.ts';
import { tempDir } from './kit/index.ts';

clickHouseDriverSuite('embedded (chdb)', async () => {
  const ch = createEmbeddedDriver({ path: tempDir('embedded') });
  return { ch, close: () => ch.close() };
});
