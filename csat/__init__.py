"""The CSAT service: ratings, follow-ups and exports for the admin panel."""
