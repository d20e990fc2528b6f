// The lab's stand-in for Hive's schematool (ci/images.d/hive), for the commands the hive-metastore chart runs:
//
//   schematool -dbType mysql -initOrUpgradeSchema [-userName U -passWord P]   create the schema if there is none
//   schematool -dbType mysql -info [-userName U -passWord P]                  print the versions; exit 1 unless current
//
// Hive's own tool runs SQL scripts that ship only in Hive's release tarball, not on Maven Central. This one
// creates the same tables from the metastore's JDO mapping (BigdataMetastoreSchema, as ci/services does) and
// records the schema version the metastore expects (its own MetaStoreSchemaInfo) in the VERSION table, so the
// metastore's schema verification passes. The connection comes from hive-site.xml (MetastoreConf), as Hive's.
// Hive's ACID tables are not created (see BigdataNoAcidTxnHandler); upgrades between versions are not done.
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.MetaStoreSchemaInfoFactory;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf.ConfVars;

public final class BigdataSchemaTool {
  private BigdataSchemaTool() {}

  private static void usage(String problem) {
    System.err.println("schematool: " + problem);
    System.err.println("usage: schematool -dbType mysql (-initOrUpgradeSchema | -initSchema | -info)"
        + " [-userName USER] [-passWord PASSWORD]   (the lab's stand-in: only these)");
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    String command = null;
    String user = null;
    String password = null;
    List<String> ignored = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-initOrUpgradeSchema", "-initSchema", "-info" -> command = args[i];
        case "-userName" -> user = ++i < args.length ? args[i] : null;
        case "-passWord" -> password = ++i < args.length ? args[i] : null;
        case "-dbType" -> {
          if (++i >= args.length || !args[i].equals("mysql")) {
            usage("-dbType: only mysql is supported by the lab's stand-in");
          }
        }
        case "-verbose" -> ignored.add(args[i]);
        default -> usage("unknown option " + args[i]);
      }
    }
    if (command == null) {
      usage("no command: give -initOrUpgradeSchema, -initSchema or -info");
    }
    Configuration conf = MetastoreConf.newMetastoreConf();
    String url = MetastoreConf.getVar(conf, ConfVars.CONNECT_URL_KEY);
    String driver = MetastoreConf.getVar(conf, ConfVars.CONNECTION_DRIVER);
    if (user == null) {
      user = MetastoreConf.getVar(conf, ConfVars.CONNECTION_USER_NAME);
    }
    if (password == null) {
      password = MetastoreConf.getPassword(conf, ConfVars.PWD);
    }
    String expected = MetaStoreSchemaInfoFactory.get(conf).getHiveSchemaVersion();
    System.out.println("Metastore connection URL:\t " + url);
    System.out.println("Metastore connection Driver :\t " + driver);
    System.out.println("Metastore connection User:\t " + user);
    Class.forName(driver);
    String version;
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      version = schemaVersion(c);
    } catch (SQLException e) {
      System.err.println("schematool: failed to connect to " + url + " as " + user + ": " + e.getMessage());
      System.exit(1);
      return;
    }
    System.out.println("Hive distribution version:\t " + expected);
    System.out.println("Metastore schema version:\t " + (version == null ? "(none)" : version));
    switch (command) {
      case "-info" -> {
        if (!expected.equals(version)) {
          System.err.println("schematool: the metastore schema is " + (version == null ? "missing" : "at " + version)
              + ", this Hive expects " + expected);
          System.exit(1);
        }
        System.out.println("schemaTool completed");
      }
      default -> {
        if (expected.equals(version)) {
          System.out.println("The schema is current (" + version + "): nothing to do");
        } else if (version != null) {
          System.err.println("schematool: upgrading the schema from " + version + " to " + expected
              + " is not done by the lab's stand-in (Hive's upgrade scripts are not on Maven Central)");
          System.exit(1);
        } else {
          latin1(url, user, password);
          create(url, driver, user, password);
          requireTables(url, user, password);
          try (Connection c = DriverManager.getConnection(url, user, password);
              PreparedStatement s = c.prepareStatement(
                  "INSERT INTO VERSION (VER_ID, SCHEMA_VERSION, VERSION_COMMENT) VALUES (1, ?, ?)")) {
            s.setString(1, expected);
            s.setString(2, "Hive release version " + expected + " (tables by the lab's stand-in schematool)");
            s.executeUpdate();
          }
          System.out.println("Initialized the schema to version " + expected);
        }
        System.out.println("schemaTool completed");
      }
    }
  }

  /** The recorded schema version, or null when there is no VERSION table or row. */
  private static String schemaVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT SCHEMA_VERSION FROM VERSION")) {
      return r.next() ? r.getString(1) : null;
    } catch (SQLException e) {
      if (e.getMessage() != null && e.getMessage().contains("doesn't exist")) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Hive's own MySQL scripts create every table with DEFAULT CHARSET=latin1: its widest columns (VARCHAR(32672),
   * parameter values) do not fit in utf8mb4, where MySQL and MariaDB refuse them. The tables made here from the
   * JDO mapping take the database's default, so that default becomes latin1 (binary collation), as ci/services'.
   */
  private static void latin1(String url, String user, String password) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      s.execute("ALTER DATABASE `" + c.getCatalog().replace("`", "``") + "` CHARACTER SET latin1 COLLATE latin1_bin");
    }
  }

  /** The tables a metastore needs to hold tables and partitions: a creation that left one out fails here. */
  private static final List<String> REQUIRED_TABLES = List.of("DBS", "TBLS", "TABLE_PARAMS", "SDS", "SD_PARAMS",
      "COLUMNS_V2", "CDS", "SERDES", "SERDE_PARAMS", "PARTITIONS", "PARTITION_KEYS", "PARTITION_KEY_VALS",
      "PARTITION_PARAMS", "BUCKETING_COLS", "SORT_COLS", "TAB_COL_STATS", "PART_COL_STATS", "FUNCS", "VERSION");

  private static void requireTables(String url, String user, String password) throws SQLException {
    List<String> missing = new ArrayList<>(REQUIRED_TABLES);
    try (Connection c = DriverManager.getConnection(url, user, password);
        ResultSet r = c.getMetaData().getTables(c.getCatalog(), null, "%", new String[] {"TABLE"})) {
      while (r.next()) {
        missing.remove(r.getString("TABLE_NAME"));
      }
    }
    if (!missing.isEmpty()) {
      System.err.println("schematool: the schema was not created completely: missing tables " + missing
          + " (see DataNucleus's errors above)");
      System.exit(1);
    }
  }

  /** The tables of the JDO mapping, as ci/services' metastore (BigdataMetastoreSchema). */
  private static void create(String url, String driver, String user, String password) throws Exception {
    Properties p = new Properties();
    // MySQL's Connector/J looks up table names in every database unless told the current one is meant: DataNucleus
    // would take information_schema.PARTITIONS for the metastore's PARTITIONS table and never create it.
    p.setProperty("javax.jdo.option.ConnectionURL", url + (url.contains("?") ? "&" : "?") + "nullCatalogMeansCurrent=true");
    p.setProperty("javax.jdo.option.ConnectionDriverName", driver);
    p.setProperty("javax.jdo.option.ConnectionUserName", user);
    p.setProperty("javax.jdo.option.ConnectionPassword", password == null ? "" : password);
    p.setProperty("datanucleus.identifierFactory", "datanucleus1");
    p.setProperty("datanucleus.rdbms.useLegacyNativeValueStrategy", "true");
    p.setProperty("datanucleus.storeManagerType", "rdbms");
    p.setProperty("datanucleus.transactionIsolation", "read-committed");
    p.setProperty("datanucleus.cache.level2", "false");
    p.setProperty("datanucleus.schema.validateTables", "false");
    p.setProperty("datanucleus.schema.validateColumns", "false");
    p.setProperty("datanucleus.schema.validateConstraints", "false");
    p.setProperty("datanucleus.rdbms.initializeColumnInfo", "NONE");
    p.setProperty("datanucleus.plugin.pluginRegistryBundleCheck", "LOG");
    p.setProperty("javax.jdo.option.DetachAllOnCommit", "true");
    p.setProperty("javax.jdo.option.NonTransactionalRead", "true");
    Path file = Files.createTempFile("schema", ".properties",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (var w = Files.newBufferedWriter(file)) {
      p.store(w, null);
    }
    try {
      BigdataMetastoreSchema.main(new String[] {file.toString()});
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
