extension Migration {
    /// Point holds (`PointHoldStatus`): points a till or the member app reserves for a payment to
    /// come. A held row stops counting at `expires_at` without being touched (the timeout releases
    /// it as it is read); the partial index finds a member's live holds.
    static let pointHolds = Migration(version: 21, name: "point_holds", sql: #"""
        CREATE TABLE point_holds (
            mall_id bigint NOT NULL REFERENCES malls (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            member_id bigint NOT NULL,
            merchant_id bigint,
            points bigint NOT NULL CHECK (points > 0),
            status smallint NOT NULL DEFAULT 1 CHECK (status IN (1, 2, 3)),
            created_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
            ended_at timestamptz,
            PRIMARY KEY (mall_id, id),
            FOREIGN KEY (mall_id, member_id) REFERENCES members (mall_id, id),
            CHECK ((status = 1) = (ended_at IS NULL))
        );
        CREATE INDEX point_holds_held ON point_holds (mall_id, member_id) WHERE status = 1;
        SELECT isolate_by_mall('point_holds');
        """#)
}
