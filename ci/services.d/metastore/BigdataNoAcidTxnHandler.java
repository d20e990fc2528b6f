// The metastore's transaction store (metastore.txn.store.impl) for `ci/services`, whose metastore has no
// Hive ACID tables: BigdataMetastoreSchema creates the tables of the JDO mapping, while Hive's ACID tables
// (TXNS, TXN_COMPONENTS, COMPACTION_QUEUE, ...) exist only in the SQL scripts of Hive's release tarball.
// The metastore calls cleanupRecords() on every DROP DATABASE (and on drops of transactional tables), which
// would then fail with "Table 'metastore.TXN_COMPONENTS' doesn't exist". With no ACID tables there are no
// ACID records to clean up, so those calls do nothing here; everything else is Hive's own handler, and
// Hive ACID (transactional tables, compaction) is not available on these native services.
//
// In Hive's package because CompactionTxnHandler, the default store, is package-private.
package org.apache.hadoop.hive.metastore.txn;

import java.util.Iterator;

import org.apache.hadoop.hive.metastore.api.Database;
import org.apache.hadoop.hive.metastore.api.HiveObjectType;
import org.apache.hadoop.hive.metastore.api.Partition;
import org.apache.hadoop.hive.metastore.api.Table;

public class BigdataNoAcidTxnHandler extends CompactionTxnHandler {
  @Override
  public void cleanupRecords(HiveObjectType type, Database db, Table table, Iterator<Partition> partitionIterator,
      boolean keepTxnToWriteIdMetaData) {
    // no ACID tables, no ACID records
  }

  @Override
  public void cleanupRecords(HiveObjectType type, Database db, Table table, Iterator<Partition> partitionIterator,
      long txnId) {
    // no ACID tables, no ACID records
  }

  @Override
  public void onRename(String oldCatName, String oldDbName, String oldTabName, String oldPartName,
      String newCatName, String newDbName, String newTabName, String newPartName) {
    // no ACID tables, no ACID records
  }
}
