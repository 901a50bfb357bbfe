<?php
/**
 * Plugin Name: CleanTalk trusted users (caddy-cleantalk)
 * Description: Gives users who can moderate comments a signed cookie, so that caddy-cleantalk's trusted_cookie lets their submissions through unchecked.
 * Version: 1.0.0
 * Requires PHP: 7.4
 *
 * A must-use plugin: copy this file into wp-content/mu-plugins/. It reads, from
 * the FastCGI environment (php_fastcgi { env ... }) or the process's:
 *   CLEANTALK_TRUSTED_SECRET  the secret shared with Caddy's trusted_cookie (required)
 *   CLEANTALK_TRUSTED_COOKIE  the cookie's name (default ct_trusted)
 *
 * The cookie is "<user id>.<expiry>.<hex HMAC-SHA256(secret, "<user id>.<expiry>")>",
 * with the expiry of the login it comes with, in Unix seconds. It is set when a
 * user who can moderate comments logs in, and cleared when that user logs out or
 * no longer is the logged-in moderator.
 */

defined( 'ABSPATH' ) || exit;

/** A setting from the web server's FastCGI parameters, or else the environment. */
function cleantalk_trusted_env( string $name ): string {
	$value = $_SERVER[ $name ] ?? getenv( $name );
	return is_string( $value ) ? $value : '';
}

function cleantalk_trusted_cookie_name(): string {
	$name = cleantalk_trusted_env( 'CLEANTALK_TRUSTED_COOKIE' );
	return '' !== $name ? $name : 'ct_trusted';
}

/** Sends the cookie; $expires 0 makes it last as long as the browser session. */
function cleantalk_trusted_send( string $value, int $expires ): void {
	setcookie(
		cleantalk_trusted_cookie_name(),
		$value,
		array(
			'expires'  => $expires,
			'path'     => '/',
			'domain'   => defined( 'COOKIE_DOMAIN' ) && COOKIE_DOMAIN ? COOKIE_DOMAIN : '',
			'secure'   => is_ssl(),
			'httponly' => true,
			'samesite' => 'Lax',
		)
	);
}

function cleantalk_trusted_clear(): void {
	if ( isset( $_COOKIE[ cleantalk_trusted_cookie_name() ] ) ) {
		cleantalk_trusted_send( '', time() - YEAR_IN_SECONDS );
	}
}

/**
 * Login: WordPress sets its authentication cookies. $expire is the cookies'
 * lifetime in the browser (0 without "Remember me"), $expiration the login's.
 */
function cleantalk_trusted_on_login( string $auth_cookie, int $expire, int $expiration, int $user_id ): void {
	if ( ! user_can( $user_id, 'moderate_comments' ) ) {
		cleantalk_trusted_clear();
		return;
	}
	$secret = cleantalk_trusted_env( 'CLEANTALK_TRUSTED_SECRET' );
	if ( '' === $secret ) {
		error_log( 'cleantalk-trusted: CLEANTALK_TRUSTED_SECRET is not set, so moderators stay checked by caddy-cleantalk' );
		return;
	}
	$payload = $user_id . '.' . $expiration;
	cleantalk_trusted_send( $payload . '.' . hash_hmac( 'sha256', $payload, $secret ), $expire );
}
add_action( 'set_auth_cookie', 'cleantalk_trusted_on_login', 10, 4 );

// Logout.
add_action( 'clear_auth_cookie', 'cleantalk_trusted_clear' );

/**
 * Every request: a cookie that is no longer the logged-in moderator's (a login
 * that expired or ended elsewhere, a user who lost the capability) goes.
 */
function cleantalk_trusted_recheck(): void {
	$cookie = $_COOKIE[ cleantalk_trusted_cookie_name() ] ?? null;
	if ( ! is_string( $cookie ) ) {
		return;
	}
	$user_id = (int) strtok( $cookie, '.' );
	if ( 0 === $user_id || get_current_user_id() !== $user_id || ! current_user_can( 'moderate_comments' ) ) {
		cleantalk_trusted_clear();
	}
}
add_action( 'init', 'cleantalk_trusted_recheck' );
