// Spark WordCount for the batch benchmark (ci/bench.d/batch.sh): the classic RDD WordCount, with the
// semantics of `bigdata-jobs wordcount` and of Hadoop's WordCount example: a word is a maximal run of
// characters other than space, \t, \n, \r and \f (StringTokenizer, as Hadoop's example), lowercased (as
// bigdata-jobs; a no-op on the benchmark's lowercase input), counted; the output is `word<TAB>count` lines
// (Hadoop's TextOutputFormat layout) in part files. The master comes from -Dspark.master (local[2]).
//
//   BenchSparkWordCount INPUT OUTPUT      e.g. hdfs://127.0.0.1:19830/bench/in.txt hdfs://127.0.0.1:19830/out/spark
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringTokenizer;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import scala.Tuple2;

public final class BenchSparkWordCount {
  private BenchSparkWordCount() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: BenchSparkWordCount INPUT OUTPUT");
      System.exit(2);
    }
    long start = System.nanoTime();
    SparkConf conf = new SparkConf().setAppName("bench-wordcount");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      sc.textFile(args[0])
          .flatMap(line -> {
            StringTokenizer tokens = new StringTokenizer(line, " \t\n\r\f");
            List<String> words = new ArrayList<>();
            while (tokens.hasMoreTokens()) {
              words.add(tokens.nextToken().toLowerCase(Locale.ROOT));
            }
            return words.iterator();
          })
          .mapToPair(word -> new Tuple2<>(word, 1L))
          .reduceByKey(Long::sum)
          .map(pair -> pair._1() + "\t" + pair._2())
          .saveAsTextFile(args[1]);
    }
    System.err.printf("spark wordcount: done in %.3f s (inside the JVM)%n", (System.nanoTime() - start) / 1e9);
  }
}
