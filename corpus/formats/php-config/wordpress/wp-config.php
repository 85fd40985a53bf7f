<?php
/**
 * The base configuration for WordPress
 *
 * @package WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', 'wp_shop' );

/** Database username */
define( 'DB_USER', 'wp_shop' );

/** Database password */
define( 'DB_PASSWORD', '⟦p1:password!⟧' );

/** Database hostname */
define( 'DB_HOST', '⟦h1:host⟧' );

/** Database charset to use in creating database tables. */
define( 'DB_CHARSET', 'utf8mb4' );

/** The database collate type. Don't change this if in doubt. */
define( 'DB_COLLATE', '' );

/**#@+
 * Authentication unique keys and salts.
 *
 * Change these to different unique phrases! You can generate these using
 * the {@link https://api.wordpress.org/secret-key/1.1/salt/ WordPress.org secret-key service}.
 *
 * @since 2.6.0
 */
define( 'AUTH_KEY',         '⟦s1:wp-salt!⟧' );
define( 'SECURE_AUTH_KEY',  '⟦s2:wp-salt!⟧' );
define( 'LOGGED_IN_KEY',    '⟦s3:wp-salt!⟧' );
define( 'NONCE_KEY',        '⟦s4:wp-salt!⟧' );
define( 'AUTH_SALT',        '⟦s5:wp-salt!⟧' );
define( 'SECURE_AUTH_SALT', '⟦s6:wp-salt!⟧' );
define( 'LOGGED_IN_SALT',   '⟦s7:wp-salt!⟧' );
define( 'NONCE_SALT',       '⟦s8:wp-salt!⟧' );

/**#@-*/

$table_prefix = 'wp_';

define( 'WP_DEBUG', false );

/* That's all, stop editing! Happy publishing. */

/** Absolute path to the WordPress directory. */
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

/** Sets up WordPress vars and included files. */
require_once ABSPATH . 'wp-settings.php';
