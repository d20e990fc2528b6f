// A Thrift client of the metastore started by ci/fidelity with the chart's hive-site.xml: lists the databases and
// creates one (its directory must then exist in the warehouse, through Hadoop's FileSystem). No DROP: the metastore
// then cleans up Hive ACID records, and ci/services' schema has no ACID tables (docs/services.md); ci/fidelity
// deletes the database's row with SQL instead.
// Usage: BigdataMetastoreProbe thrift://HOST:PORT DBNAME
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hive.metastore.HiveMetaStoreClient;
import org.apache.hadoop.hive.metastore.api.Database;

public class BigdataMetastoreProbe {
  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration(false);
    conf.set("metastore.thrift.uris", args[0]);
    conf.set("hive.metastore.uris", args[0]);
    HiveMetaStoreClient client = new HiveMetaStoreClient(conf);
    try {
      List<String> dbs = client.getAllDatabases();
      System.out.println("databases: " + dbs);
      if (!dbs.contains("default")) throw new IllegalStateException("no default database");
      Database db = new Database();
      db.setName(args[1]);
      db.setDescription("ci/fidelity probe");
      client.createDatabase(db);
      String location = client.getDatabase(args[1]).getLocationUri();
      System.out.println("created " + args[1] + " at " + location);
      Path p = new Path(location);
      FileSystem fs = p.getFileSystem(new Configuration());
      if (!fs.exists(p)) throw new IllegalStateException("its directory " + location + " does not exist");
      System.out.println("directory exists: " + location);
    } finally {
      client.close();
    }
  }
}
