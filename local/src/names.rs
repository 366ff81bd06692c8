//! The local deployment's fixed names: moto's account and region, and the cluster, database and user the
//! local Redshift answers for (shared by the stack, the state-machine builders and the trial).

/// Account and region moto uses.
pub const ACCOUNT: &str = "123456789012";
/// The region every client and the template's deploy use.
pub const REGION: &str = "us-east-1";
/// The local "cluster" and its user: the target the starter is configured with.
pub const CLUSTER: &str = "local-cluster";
/// The database statements run in (a PostgreSQL database of the same name).
pub const DATABASE: &str = "dev";
/// The database user the template's `DbUser` names.
pub const DB_USER: &str = "etl";
