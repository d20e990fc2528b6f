// Creates the Hive metastore's tables in an empty database, for `ci/services up metastore`.
//
// Hive's schema tool runs SQL scripts that ship only in Hive's release tarball, not in any artifact on Maven
// Central. The metastore's JDO mapping (package.jdo, inside hive-standalone-metastore-server) describes the
// same tables, and DataNucleus creates them from it. Left to the running metastore, DataNucleus creates each
// table lazily inside client requests, where its DDL can wait forever on a lock that the request's own
// transaction holds (seen with MariaDB: ALTER TABLE TBL_PRIVS ... waiting on TBLS). So this creates them all
// up front, one class at a time, with nothing else connected. The metastore records the schema version in
// the VERSION table on its first start.
//
//   BigdataMetastoreSchema PROPERTIES_FILE    (javax.jdo.option.Connection* and datanucleus.* settings)
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.jdo.JDOHelper;
import javax.jdo.PersistenceManager;
import javax.jdo.PersistenceManagerFactory;
import javax.jdo.Query;

public final class BigdataMetastoreSchema {
  private static final String MODEL = "org.apache.hadoop.hive.metastore.model.";

  private BigdataMetastoreSchema() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: BigdataMetastoreSchema PROPERTIES_FILE");
      System.exit(2);
    }
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(Path.of(args[0]))) {
      props.load(r);
    }
    props.setProperty("javax.jdo.PersistenceManagerFactoryClass", "org.datanucleus.api.jdo.JDOPersistenceManagerFactory");
    props.setProperty("datanucleus.schema.autoCreateAll", "true");

    String jdo;
    try (InputStream in = BigdataMetastoreSchema.class.getClassLoader().getResourceAsStream("package.jdo")) {
      if (in == null) {
        throw new IllegalStateException("package.jdo not found on the class path");
      }
      jdo = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    PersistenceManagerFactory pmf = JDOHelper.getPersistenceManagerFactory(props);
    PersistenceManager pm = pmf.getPersistenceManager();
    int classes = 0;
    int skipped = 0;
    Matcher m = Pattern.compile("<class\\s+name=\"(\\w+)\"([^>]*)>").matcher(jdo);
    while (m.find()) {
      if (m.group(2).contains("embedded-only=\"true\"")) {
        continue; // stored inside other classes' tables
      }
      Class<?> cls = Class.forName(MODEL + m.group(1));
      try {
        // A query makes DataNucleus create the class's table (and those it references) if missing.
        Query<?> q = pm.newQuery(cls);
        q.setRange(0, 1);
        q.execute();
        q.closeAll();
        classes++;
      } catch (RuntimeException e) {
        skipped++;
        System.err.println("warning: " + cls.getName() + ": " + e.getMessage());
      }
    }
    pm.close();
    pmf.close();
    System.out.println("created the tables of " + classes + " classes (" + skipped + " skipped)");
    if (classes == 0) {
      System.exit(1);
    }
  }
}
