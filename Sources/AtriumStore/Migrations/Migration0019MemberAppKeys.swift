extension Migration {
    /// API keys of a fifth role, the mall's member app (`Role.memberApp`): bound to the mall
    /// alone, like HQ keys, with neither a merchant nor a partner.
    static let memberAppKeys = Migration(version: 19, name: "member_app_keys", sql: #"""
        ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
        ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN (2, 3, 4, 5));
        """#)
}
