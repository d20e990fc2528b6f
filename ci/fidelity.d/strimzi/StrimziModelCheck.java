import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.strimzi.api.kafka.model.common.UnknownPropertyPreserving;
import io.strimzi.api.kafka.model.common.metrics.JmxPrometheusExporterMetrics;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.kafka.KafkaClusterSpec;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.File;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * ci/fidelity's strimzi part: reads the kafka chart's rendered Strimzi resources (helm template output) into
 * Strimzi's own API model (io.strimzi:api, the classes its CRDs are generated from) and reports every field the
 * model does not know (Strimzi keeps those aside, in additionalProperties, and the operator ignores them), every
 * resource that does not read at all, every spec.kafka.config option the operator refuses to pass on (it manages
 * them itself: KafkaClusterSpec's forbidden prefixes), and a metricsConfig whose ConfigMap key is not rendered
 * beside it.
 *
 * <p>Usage: java -cp 'lib/*:classes' StrimziModelCheck MANIFESTS.yaml. Prints one line per resource and per
 * problem; exit 1 on a problem or when no Strimzi resource is found.
 */
public class StrimziModelCheck {
    private static final Map<String, Class<?>> KINDS = Map.of(
            "Kafka", Kafka.class,
            "KafkaNodePool", KafkaNodePool.class,
            "KafkaTopic", KafkaTopic.class);

    public static void main(String[] args) throws Exception {
        ObjectMapper mapper = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = new YAMLMapper().readerFor(JsonNode.class).readValues(new File(args[0]))) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && doc.isObject() && doc.has("kind")) {
                    docs.add(doc);
                }
            }
        }
        Map<String, JsonNode> configMaps = new HashMap<>();
        for (JsonNode doc : docs) {
            if (doc.path("kind").asText().equals("ConfigMap")) {
                configMaps.put(doc.path("metadata").path("name").asText(), doc.path("data"));
            }
        }
        List<String> problems = new ArrayList<>();
        int read = 0;
        for (JsonNode doc : docs) {
            Class<?> type = KINDS.get(doc.path("kind").asText());
            if (type == null || !doc.path("apiVersion").asText().startsWith("kafka.strimzi.io/")) {
                continue;
            }
            String id = doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText();
            Object resource;
            try {
                resource = mapper.treeToValue(doc, type);
            } catch (Exception e) {
                problems.add(id + ": does not read as Strimzi's " + type.getSimpleName() + ": " + e.getMessage());
                continue;
            }
            read++;
            List<String> unknown = new ArrayList<>();
            walk(resource, "", unknown, new IdentityHashMap<>());
            for (String u : unknown) {
                problems.add(id + ": " + u + ": not a field of Strimzi's model (the operator would ignore it)");
            }
            if (resource instanceof Kafka kafka) {
                checkMetrics(kafka, id, configMaps, problems);
                checkConfig(kafka, id, problems);
            }
            System.out.println("read " + id + " (" + doc.path("apiVersion").asText() + ")"
                    + (unknown.isEmpty() ? "" : ": " + unknown.size() + " unknown fields"));
        }
        for (String p : problems) {
            System.out.println("problem: " + p);
        }
        System.out.println("strimzi model: " + read + " resources read, " + problems.size() + " problems");
        System.exit(problems.isEmpty() && read > 0 ? 0 : 1);
    }

    /** A JMX exporter metricsConfig names a ConfigMap and key that the same manifests render. */
    private static void checkMetrics(Kafka kafka, String id, Map<String, JsonNode> configMaps, List<String> problems) {
        if (!(kafka.getSpec().getKafka().getMetricsConfig() instanceof JmxPrometheusExporterMetrics jmx)) {
            return;
        }
        var ref = jmx.getValueFrom().getConfigMapKeyRef();
        JsonNode data = configMaps.get(ref.getName());
        if (data == null || !data.hasNonNull(ref.getKey()) || data.get(ref.getKey()).asText().isBlank()) {
            problems.add(id + ": spec.kafka.metricsConfig names ConfigMap " + ref.getName() + " key " + ref.getKey()
                    + ", which is not rendered");
        } else {
            System.out.println(id + ": metricsConfig jmxPrometheusExporter from ConfigMap " + ref.getName()
                    + " key " + ref.getKey() + " (" + data.get(ref.getKey()).asText().lines().count() + " lines)");
        }
    }

    /** No option of spec.kafka.config is one the operator sets itself and drops from the user's config. */
    private static void checkConfig(Kafka kafka, String id, List<String> problems) {
        List<String> forbidden = List.of(KafkaClusterSpec.FORBIDDEN_PREFIXES.split(", "));
        List<String> exceptions = List.of(KafkaClusterSpec.FORBIDDEN_PREFIX_EXCEPTIONS.split(", "));
        Map<String, Object> config = kafka.getSpec().getKafka().getConfig();
        for (String key : config == null ? List.<String>of() : config.keySet()) {
            if (!exceptions.contains(key) && forbidden.stream().anyMatch(key::startsWith)) {
                problems.add(id + ": spec.kafka.config." + key + ": the operator manages it and ignores this value");
            }
        }
        System.out.println(id + ": " + (config == null ? 0 : config.size())
                + " spec.kafka.config options, checked against those the operator manages");
    }

    /** Every additional (unknown) property in the object graph of Strimzi's model classes, by its path. */
    private static void walk(Object node, String path, List<String> unknown, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || seen.put(node, true) != null) {
            return;
        }
        if (node instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                walk(e.getValue(), path + "." + e.getKey(), unknown, seen);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.strimzi.")) {
            return;
        }
        if (node instanceof UnknownPropertyPreserving preserving && preserving.getAdditionalProperties() != null) {
            for (String key : preserving.getAdditionalProperties().keySet()) {
                unknown.add((path.isEmpty() ? "" : path.substring(1) + ".") + key);
            }
        }
        for (Method m : node.getClass().getMethods()) {
            String name = m.getName();
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !name.startsWith("get")
                    || name.equals("getClass") || name.equals("getAdditionalProperties") || name.length() < 4) {
                continue;
            }
            Object child;
            try {
                child = m.invoke(node);
            } catch (Exception e) {
                continue;
            }
            walk(child, path + "." + Character.toLowerCase(name.charAt(3)) + name.substring(4), unknown, seen);
        }
    }
}
