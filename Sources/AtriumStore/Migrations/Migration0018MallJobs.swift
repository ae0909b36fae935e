extension Migration {
    /// Background work per mall (the expiry sweep; later settlement and tier evaluation) is
    /// handed out through one row per mall and job: a replica claims the row for a while
    /// (`JobLeaseStore`), so several atriumd replicas split the malls between them instead of all
    /// sweeping every mall. A row lock taken with SKIP LOCKED decides between replicas claiming at
    /// the same moment; the lease itself is a time, so no lock is held while the work runs, and a
    /// replica that died leaves a lease that simply runs out. Advisory locks would not do on
    /// Citus: they hold only on the node that takes them.
    static let mallJobs = Migration(version: 18, name: "mall_jobs", sql: #"""
        CREATE TABLE mall_jobs (
            mall_id bigint NOT NULL REFERENCES malls (id),
            job text NOT NULL CHECK (length(job) BETWEEN 1 AND 40),
            leased_by text,
            leased_until timestamptz,
            last_finished_at timestamptz,
            PRIMARY KEY (mall_id, job)
        );
        SELECT isolate_by_mall('mall_jobs');
        """#)
}
