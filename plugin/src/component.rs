//! The platform's components and the graph between them (ARCHITECTURE.md, "Component graph").

use std::fmt;

use serde::Serialize;

/// One component: one chart under `charts/`, one Helm release `<platform>-<chart>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Mysql,
    Hdfs,
    HiveMetastore,
    Spark,
    Kafka,
    Monitoring,
}

impl Component {
    /// Every component, in a stable order.
    pub const ALL: [Component; 6] = [
        Component::Mysql,
        Component::Hdfs,
        Component::HiveMetastore,
        Component::Spark,
        Component::Kafka,
        Component::Monitoring,
    ];

    /// The chart's directory under `charts/`, which is also its key in the values.
    pub fn chart(self) -> &'static str {
        match self {
            Component::Mysql => "mysql",
            Component::Hdfs => "hdfs",
            Component::HiveMetastore => "hive-metastore",
            Component::Spark => "spark",
            Component::Kafka => "kafka",
            Component::Monitoring => "monitoring",
        }
    }

    /// The components this one needs installed and healthy first.
    pub fn depends_on(self) -> &'static [Component] {
        match self {
            // Monitoring finds the pods as they come (Prometheus watches them): it needs none first.
            Component::Mysql | Component::Hdfs | Component::Kafka | Component::Monitoring => &[],
            Component::HiveMetastore => &[Component::Mysql, Component::Hdfs],
            Component::Spark => &[Component::Hdfs, Component::HiveMetastore],
        }
    }

    pub fn from_chart(chart: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.chart() == chart)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, so that `{:<16}` aligns tables
        f.pad(self.chart())
    }
}
