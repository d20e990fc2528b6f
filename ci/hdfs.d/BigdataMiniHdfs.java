// A real HDFS for tests: Hadoop's MiniDFSCluster (NameNode(s) and DataNodes in one JVM) on 127.0.0.1,
// started by ci/hdfs. Single NameNode, or HA: one nameservice with two NameNodes (nn1 active, nn2 standby)
// and failover on demand through a line protocol on a control port.
//
// Arguments (all key=value): base=DIR conf=DIR nameservice=NS ha=true|false datanodes=N
//   rpc=PORT http=PORT [rpc2=PORT http2=PORT] control=PORT
// When ready it writes, atomically: conf/core-site.xml, conf/hdfs-site.xml (the client configuration:
// fs.defaultFS and, for HA, the nameservice and its NameNode addresses) and conf/state.env (shell lines).
//
// Control port (one command per connection, one reply line "ok ..." or "error ..."):
//   status     "ok mode=single|ha active=nn1 namenodes=nn1@127.0.0.1:P,... datanodes=3 safemode=false"
//   failover   HA: graceful failover (active -> standby, the other -> active); "ok active=nn2"
//   crash      HA: stop the active NameNode's process (no graceful hand-over), make the other active,
//              then restart the stopped one as standby and wait until it is out of safe mode; "ok active=nn2"
// Both fail over only to a NameNode that is out of safe mode (waiting for it, at most 120 s).
//   shutdown   stop the cluster and exit; "ok"
import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.protocol.HdfsConstants.SafeModeAction;

public class BigdataMiniHdfs {
    private static MiniDFSCluster cluster;
    private static boolean ha;
    private static String nameservice;
    private static int active = 0;
    private static final Object LOCK = new Object();

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("expected key=value, got " + arg);
            }
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        File base = new File(req(a, "base"));
        File confDir = new File(req(a, "conf"));
        ha = Boolean.parseBoolean(a.getOrDefault("ha", "false"));
        nameservice = a.getOrDefault("nameservice", "bigdata-ns");
        int dataNodes = Integer.parseInt(a.getOrDefault("datanodes", "3"));
        int rpc = Integer.parseInt(req(a, "rpc"));
        int http = Integer.parseInt(req(a, "http"));
        int control = Integer.parseInt(req(a, "control"));

        long start = System.nanoTime();
        Configuration conf = new HdfsConfiguration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getAbsolutePath());
        // Tests write files with small blocks (e.g. 1 MiB or less) to get many blocks cheaply.
        conf.setLong("dfs.namenode.fs-limits.min-block-size", 4096);
        conf.setInt("dfs.namenode.safemode.extension", 0);
        conf.setInt("dfs.heartbeat.interval", 1);
        conf.setInt("dfs.namenode.heartbeat.recheck-interval", 5000);
        // No reverse DNS on 127.0.0.1 for DataNode registration.
        conf.setBoolean("dfs.namenode.datanode.registration.ip-hostname-check", false);
        if (ha) {
            // The standby tails the shared edits often, so it is close behind when it takes over.
            conf.set("dfs.ha.tail-edits.period", "1s");
            conf.set("dfs.ha.log-roll.period", "10s");
        }

        MiniDFSNNTopology topology;
        if (ha) {
            int rpc2 = Integer.parseInt(req(a, "rpc2"));
            int http2 = Integer.parseInt(req(a, "http2"));
            topology = new MiniDFSNNTopology().addNameservice(new MiniDFSNNTopology.NSConf(nameservice)
                    .addNN(new MiniDFSNNTopology.NNConf("nn1").setIpcPort(rpc).setHttpPort(http))
                    .addNN(new MiniDFSNNTopology.NNConf("nn2").setIpcPort(rpc2).setHttpPort(http2)));
        } else {
            topology = MiniDFSNNTopology.simpleSingleNN(rpc, http);
        }
        cluster = new MiniDFSCluster.Builder(conf)
                .nnTopology(topology)
                .numDataNodes(dataNodes)
                .format(true)
                .build();
        if (ha) {
            cluster.transitionToActive(0);
            active = 0;
        }
        cluster.waitActive();
        cluster.waitClusterUp();
        DistributedFileSystem fs = cluster.getFileSystem(active);
        while (fs.setSafeMode(SafeModeAction.SAFEMODE_GET)) {
            Thread.sleep(100);
        }

        Runtime.getRuntime().addShutdownHook(new Thread(BigdataMiniHdfs::stop));
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), control));
        writeClientConf(confDir, control);
        System.out.printf("READY in %.1fs: %s%n", (System.nanoTime() - start) / 1e9, status());
        System.out.flush();

        while (true) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(120_000);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                String line = in.readLine();
                String cmd = line == null ? "" : line.trim();
                String reply;
                try {
                    reply = handle(cmd);
                } catch (Exception e) {
                    reply = "error " + e.toString().replace('\n', ' ');
                }
                System.out.println("control: " + cmd + " -> " + reply);
                System.out.flush();
                out.println(reply);
                if (cmd.equals("shutdown")) {
                    out.close();
                    s.close();
                    stop();
                    System.exit(0);
                }
            } catch (Exception e) {
                System.out.println("control: " + e);
            }
        }
    }

    private static String handle(String cmd) throws Exception {
        synchronized (LOCK) {
            switch (cmd) {
                case "status":
                    return "ok " + status();
                case "shutdown":
                    return "ok";
                case "failover": {
                    requireHa();
                    int next = 1 - active;
                    // Like a careful operator (or a health-checking failover controller): only to a standby
                    // that has its block reports, i.e. is out of safe mode.
                    waitOutOfSafeMode(next);
                    cluster.transitionToStandby(active);
                    cluster.transitionToActive(next);
                    active = next;
                    return "ok active=" + nnId(active);
                }
                case "crash": {
                    requireHa();
                    int old = active;
                    int next = 1 - active;
                    waitOutOfSafeMode(next);
                    cluster.shutdownNameNode(old);
                    cluster.transitionToActive(next);
                    active = next;
                    // Back as standby (an HA NameNode starts in standby state).
                    cluster.restartNameNode(old, false);
                    // Back in service once the DataNodes have re-registered and reported their blocks.
                    waitOutOfSafeMode(old);
                    return "ok active=" + nnId(active);
                }
                default:
                    return "error unknown command '" + cmd + "' (status, failover, crash, shutdown)";
            }
        }
    }

    private static void waitOutOfSafeMode(int nn) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (cluster.getNamesystem(nn).isInSafeMode()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(nnId(nn) + " is still in safe mode after 120s");
            }
            Thread.sleep(50);
        }
    }

    private static void requireHa() {
        if (!ha) {
            throw new IllegalStateException("not an HA cluster (start it with: ci/hdfs up --ha)");
        }
    }

    private static String nnId(int i) {
        return ha ? "nn" + (i + 1) : "nn1";
    }

    private static String rpcAddress(int i) {
        return "127.0.0.1:" + cluster.getNameNode(i).getNameNodeAddress().getPort();
    }

    private static String status() throws Exception {
        StringBuilder nns = new StringBuilder();
        int count = ha ? 2 : 1;
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                nns.append(',');
            }
            nns.append(nnId(i)).append('@').append(rpcAddress(i));
        }
        boolean safemode = cluster.getFileSystem(active).setSafeMode(SafeModeAction.SAFEMODE_GET);
        return "mode=" + (ha ? "ha" : "single") + " active=" + nnId(active) + " namenodes=" + nns
                + " datanodes=" + cluster.getDataNodes().size() + " safemode=" + safemode;
    }

    private static void writeClientConf(File dir, int control) throws Exception {
        dir.mkdirs();
        Configuration core = new Configuration(false);
        Configuration hdfs = new Configuration(false);
        String url;
        StringBuilder env = new StringBuilder();
        if (ha) {
            url = "hdfs://" + nameservice;
            hdfs.set("dfs.nameservices", nameservice);
            hdfs.set("dfs.ha.namenodes." + nameservice, "nn1,nn2");
            for (int i = 0; i < 2; i++) {
                hdfs.set("dfs.namenode.rpc-address." + nameservice + "." + nnId(i), rpcAddress(i));
            }
            hdfs.set("dfs.client.failover.proxy.provider." + nameservice,
                    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider");
            env.append("HDFS_NAMENODES=").append(rpcAddress(0)).append(',').append(rpcAddress(1)).append('\n');
        } else {
            url = "hdfs://" + rpcAddress(0);
            env.append("HDFS_NAMENODES=").append(rpcAddress(0)).append('\n');
        }
        core.set("fs.defaultFS", url);
        env.append("HDFS_URL=").append(url).append('\n');
        env.append("HDFS_MODE=").append(ha ? "ha" : "single").append('\n');
        env.append("HDFS_NAMESERVICE=").append(ha ? nameservice : "").append('\n');
        env.append("HDFS_CONTROL=127.0.0.1:").append(control).append('\n');
        writeAtomically(new File(dir, "core-site.xml"), core, null);
        writeAtomically(new File(dir, "hdfs-site.xml"), hdfs, null);
        writeAtomically(new File(dir, "state.env"), null, env.toString());
    }

    private static void writeAtomically(File file, Configuration conf, String text) throws Exception {
        File tmp = new File(file.getPath() + ".tmp");
        try (OutputStream out = new FileOutputStream(tmp)) {
            if (conf != null) {
                conf.writeXml(out);
            } else {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void stop() {
        MiniDFSCluster c;
        synchronized (BigdataMiniHdfs.class) {
            c = cluster;
            cluster = null;
        }
        if (c != null) {
            System.out.println("stopping the cluster");
            c.shutdown();
        }
    }

    private static String req(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing argument " + key + "=...");
        }
        return v;
    }
}
