-- Which model made a report's embedding: embeddings of two models are not
-- comparable. Rows stored before this column existed stay NULL and are never
-- compared.
ALTER TABLE reports ADD COLUMN embedding_model TEXT;
