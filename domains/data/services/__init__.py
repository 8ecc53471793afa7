"""The data domain's business rules (private: other domains use ``domains.data.api``)."""
