/**
 * Tables and deterministic seed data: enough rows that N+1 hurts (each user has 10 posts, each post 5
 * comments and 2 tags). Recreated on every start.
 */
import type { Database } from './db.js';

export const SEED = { users: 100, postsPerUser: 10, commentsPerPost: 5, tags: 20 } as const;

export async function seed(db: Database): Promise<void> {
  const posts = SEED.users * SEED.postsPerUser;
  const comments = posts * SEED.commentsPerPost;
  await db.exec(`
    DROP TABLE IF EXISTS post_tags, comments, posts, tags, users;
    CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE posts (id int PRIMARY KEY, author_id int NOT NULL REFERENCES users(id), title text NOT NULL);
    CREATE INDEX posts_author ON posts(author_id);
    CREATE TABLE comments (id int PRIMARY KEY, post_id int NOT NULL REFERENCES posts(id),
      author_id int NOT NULL REFERENCES users(id), body text NOT NULL);
    CREATE INDEX comments_post ON comments(post_id);
    CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE post_tags (post_id int NOT NULL REFERENCES posts(id), tag_id int NOT NULL REFERENCES tags(id),
      PRIMARY KEY (post_id, tag_id));
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, ${SEED.users}) g;
    INSERT INTO posts SELECT g, ((g - 1) / ${SEED.postsPerUser}) + 1, 'post ' || g FROM generate_series(1, ${posts}) g;
    INSERT INTO comments SELECT g, ((g - 1) / ${SEED.commentsPerPost}) + 1, ((g * 7) % ${SEED.users}) + 1, 'comment ' || g
      FROM generate_series(1, ${comments}) g;
    INSERT INTO tags SELECT g, 'tag ' || g FROM generate_series(1, ${SEED.tags}) g;
    INSERT INTO post_tags SELECT p, ((p * 3) % ${SEED.tags}) + 1 FROM generate_series(1, ${posts}) p;
    INSERT INTO post_tags SELECT p, ((p * 3 + 7) % ${SEED.tags}) + 1 FROM generate_series(1, ${posts}) p;
  `);
}
