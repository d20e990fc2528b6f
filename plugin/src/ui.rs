//! The components' web UIs, and the command that reaches each from the user's machine. Pure: built
//! from the Services a release has, so a changed port or platform name is followed, and a UI whose
//! Service is not there (e.g. Spark's history server turned off) is not offered.

use serde::Serialize;

use crate::component::Component;

/// A web UI a chart serves: the Service (`<platform>-<suffix>`) and the name of its HTTP port.
struct Ui {
    component: Component,
    name: &'static str,
    service_suffix: &'static str,
    port_name: &'static str,
}

const UIS: &[Ui] = &[
    Ui {
        component: Component::Hdfs,
        name: "HDFS NameNode",
        service_suffix: "hdfs-namenode",
        port_name: "http",
    },
    Ui {
        component: Component::Spark,
        name: "Spark history server",
        service_suffix: "spark-history",
        port_name: "http",
    },
    Ui {
        component: Component::Kafka,
        name: "Kafka Connect REST API",
        service_suffix: "kafka-connect",
        port_name: "http",
    },
    Ui {
        component: Component::Kafka,
        name: "Schema registry REST API",
        service_suffix: "kafka-schema-registry",
        port_name: "http",
    },
    Ui {
        component: Component::Monitoring,
        name: "Prometheus",
        service_suffix: "prometheus",
        port_name: "http",
    },
    Ui {
        component: Component::Monitoring,
        name: "Grafana",
        service_suffix: "grafana",
        port_name: "http",
    },
];

/// A Service of a release, as status lists them: its name and its (port name, port) pairs.
#[derive(Debug, Clone)]
pub struct ServicePorts {
    pub name: String,
    pub ports: Vec<(String, i32)>,
}

/// How to reach a UI: `command` forwards `url` on the user's machine to the Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiLink {
    pub name: String,
    pub url: String,
    pub command: String,
}

/// The UIs of `component` among its release's `services`, in namespace `ns`.
pub fn links(
    component: Component,
    platform: &str,
    ns: &str,
    services: &[ServicePorts],
) -> Vec<UiLink> {
    UIS.iter()
        .filter(|ui| ui.component == component)
        .filter_map(|ui| {
            let service = format!("{platform}-{}", ui.service_suffix);
            let port = services
                .iter()
                .find(|s| s.name == service)?
                .ports
                .iter()
                .find(|(name, _)| name == ui.port_name)?
                .1;
            Some(UiLink {
                name: ui.name.to_string(),
                url: format!("http://localhost:{port}/"),
                command: format!("kubectl -n {ns} port-forward svc/{service} {port}:{port}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, ports: &[(&str, i32)]) -> ServicePorts {
        ServicePorts {
            name: name.into(),
            ports: ports.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
        }
    }

    #[test]
    fn a_ui_is_offered_with_its_port_forward_command() {
        let services = [service(
            "lake-hdfs-namenode",
            &[("rpc", 8020), ("http", 9870)],
        )];
        assert_eq!(
            links(Component::Hdfs, "lake", "data", &services),
            vec![UiLink {
                name: "HDFS NameNode".into(),
                url: "http://localhost:9870/".into(),
                command: "kubectl -n data port-forward svc/lake-hdfs-namenode 9870:9870".into(),
            }]
        );
    }

    #[test]
    fn the_services_port_is_followed_and_a_missing_service_offers_nothing() {
        let services = [service("bigdata-spark-history", &[("http", 18081)])];
        let spark = links(Component::Spark, "bigdata", "ns", &services);
        assert_eq!(spark[0].url, "http://localhost:18081/");
        assert!(links(Component::Spark, "bigdata", "ns", &[]).is_empty());
        assert!(links(Component::Kafka, "bigdata", "ns", &services).is_empty());
    }

    #[test]
    fn kafka_offers_connect_only_when_it_runs() {
        let brokers = service("bigdata-kafka-bootstrap", &[("tcp-clients", 9092)]);
        assert!(
            links(
                Component::Kafka,
                "bigdata",
                "ns",
                std::slice::from_ref(&brokers)
            )
            .is_empty()
        );
        let connect = service("bigdata-kafka-connect", &[("http", 8083)]);
        let links = links(Component::Kafka, "bigdata", "ns", &[brokers, connect]);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].name, "Kafka Connect REST API");
        assert_eq!(
            links[0].command,
            "kubectl -n ns port-forward svc/bigdata-kafka-connect 8083:8083"
        );
    }

    #[test]
    fn kafka_offers_the_schema_registry_api_when_it_runs() {
        let services = [
            service("bigdata-kafka-connect", &[("http", 8083)]),
            service(
                "bigdata-kafka-schema-registry",
                &[("http", 8080), ("management", 9000)],
            ),
        ];
        let names: Vec<_> = links(Component::Kafka, "bigdata", "ns", &services)
            .into_iter()
            .map(|l| (l.name, l.command))
            .collect();
        assert_eq!(
            names[1],
            (
                "Schema registry REST API".to_string(),
                "kubectl -n ns port-forward svc/bigdata-kafka-schema-registry 8080:8080"
                    .to_string()
            )
        );
        assert_eq!(names.len(), 2);
    }
}
