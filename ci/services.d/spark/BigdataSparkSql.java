// A minimal Spark SQL command line for `ci/services sql`: runs SQL statements in one local-mode Spark session
// with Hive support (the metastore given by -Dspark.hadoop.hive.metastore.uris) and prints the rows of each
// statement that returns any, one row per line, columns separated by tabs, NULL for nulls.
// Spark's own CLI (spark-hive-thriftserver) is not published to Maven Central, hence this file. ci/services
// compiles it once against the Spark jars; the Spark configuration comes from -Dspark.* system properties.
//
//   BigdataSparkSql 'SQL; SQL; ...'     statements separated by ';' (not inside quotes)
//   BigdataSparkSql -f FILE             the statements of FILE ('-' reads standard input)
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public final class BigdataSparkSql {
  private BigdataSparkSql() {}

  public static void main(String[] args) throws IOException {
    String text;
    if (args.length == 2 && args[0].equals("-f")) {
      text = args[1].equals("-")
          ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
          : Files.readString(Path.of(args[1]));
    } else if (args.length > 0 && !args[0].startsWith("-")) {
      text = String.join(" ", args);
    } else {
      System.err.println("usage: BigdataSparkSql 'SQL; ...' | -f FILE");
      System.exit(2);
      return;
    }
    List<String> statements = split(text);
    if (statements.isEmpty()) {
      System.err.println("error: no SQL statement given");
      System.exit(2);
    }
    SparkSession spark = SparkSession.builder().appName("bigdata-sql").enableHiveSupport().getOrCreate();
    int status = 0;
    try {
      for (String sql : statements) {
        Dataset<Row> result = spark.sql(sql);
        if (result.schema().isEmpty()) {
          continue; // a command (DDL, INSERT): spark.sql() already ran it
        }
        for (Row row : result.collectAsList()) {
          StringBuilder line = new StringBuilder();
          for (int i = 0; i < row.length(); i++) {
            if (i > 0) {
              line.append('\t');
            }
            Object value = row.get(i);
            line.append(value == null ? "NULL" : value.toString());
          }
          System.out.println(line);
        }
      }
    } catch (Exception e) {
      System.err.println("error: " + e.getMessage());
      status = 1;
    } finally {
      System.out.flush();
      spark.stop();
    }
    System.exit(status);
  }

  /** Splits on ';' outside single quotes, double quotes and backticks; drops `--` comments and empty parts. */
  static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    char quote = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        cur.append(c);
        if (c == '\\' && quote != '`' && i + 1 < text.length()) {
          cur.append(text.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"' || c == '`') {
        quote = c;
        cur.append(c);
      } else if (c == '-' && i + 1 < text.length() && text.charAt(i + 1) == '-') {
        while (i < text.length() && text.charAt(i) != '\n') {
          i++;
        }
        cur.append('\n');
      } else if (c == ';') {
        add(out, cur);
      } else {
        cur.append(c);
      }
    }
    add(out, cur);
    return out;
  }

  private static void add(List<String> out, StringBuilder cur) {
    String s = cur.toString().trim();
    if (!s.isEmpty()) {
      out.add(s);
    }
    cur.setLength(0);
  }
}
