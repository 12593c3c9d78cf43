-- Arrests, complaints and sign-offs are read per agency (docs/tenancy.md):
-- their date indexes lead with the agency, so one agency's list or
-- measures of a period read that agency's rows only, not every agency's
-- of the period. (Stops' indexes led with the agency from 0018.)
DROP INDEX arrests_date;
CREATE INDEX arrests_date ON arrests (agency_id, arrest_date, arrest_time, id);
DROP INDEX arrests_287g;
CREATE INDEX arrests_287g ON arrests (agency_id, arrest_date, id)
    WHERE detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1;
DROP INDEX arrests_officer;
CREATE INDEX arrests_officer ON arrests (agency_id, officer_id, arrest_date);
DROP INDEX complaints_received;
CREATE INDEX complaints_received ON complaints (agency_id, received_on, id);
DROP INDEX sign_offs_signed;
CREATE INDEX sign_offs_signed ON sign_offs (agency_id, signed_at);
