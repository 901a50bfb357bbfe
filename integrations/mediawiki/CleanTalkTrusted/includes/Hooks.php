<?php
/**
 * Gives users with the cleantalk-bypass right (sysops by default) a signed
 * cookie when they log in, and clears it when they log out, so that
 * caddy-cleantalk's trusted_cookie lets their submissions through unchecked.
 *
 * It reads, from the FastCGI environment (php_fastcgi { env ... }) or the
 * process's:
 *   CLEANTALK_TRUSTED_SECRET  the secret shared with Caddy's trusted_cookie (required)
 *   CLEANTALK_TRUSTED_COOKIE  the cookie's name (default ct_trusted)
 *
 * The cookie is "<user id>.<expiry>.<hex HMAC-SHA256(secret, "<user id>.<expiry>")>",
 * expiring with $wgCookieExpiration, in Unix seconds.
 */

namespace MediaWiki\Extension\CleanTalkTrusted;

use Config;
use MediaWiki\Auth\Hook\UserLoggedInHook;
use MediaWiki\Hook\BeforeInitializeHook;
use MediaWiki\Hook\UserLogoutCompleteHook;
use MediaWiki\Permissions\PermissionManager;
use User;
use WebRequest;

class Hooks implements UserLoggedInHook, UserLogoutCompleteHook, BeforeInitializeHook {
	public const RIGHT = 'cleantalk-bypass';

	/** @var PermissionManager */
	private $permissions;

	/** @var int Seconds a cookie stays valid. */
	private $lifetime;

	public function __construct( PermissionManager $permissions, Config $config ) {
		$this->permissions = $permissions;
		$this->lifetime = (int)$config->get( 'CookieExpiration' ) ?: 30 * 86400;
	}

	/** Login (through Special:UserLogin, the API, or after account creation). */
	public function onUserLoggedIn( $user ) {
		$request = $user->getRequest();
		if ( !$this->permissions->userHasRight( $user, self::RIGHT ) ) {
			self::clear( $request );
			return;
		}
		$secret = self::env( 'CLEANTALK_TRUSTED_SECRET' );
		if ( $secret === '' ) {
			wfLogWarning( 'CleanTalkTrusted: CLEANTALK_TRUSTED_SECRET is not set, ' .
				'so users with the cleantalk-bypass right stay checked by caddy-cleantalk' );
			return;
		}
		$expiry = time() + $this->lifetime;
		$payload = $user->getId() . '.' . $expiry;
		// Without "Keep me logged in" the cookie ends with the browser session.
		$remember = $request->getSession()->shouldRememberUser();
		$request->response()->setCookie( self::cookieName(),
			$payload . '.' . hash_hmac( 'sha256', $payload, $secret ),
			$remember ? $expiry : null, self::options( $request ) );
	}

	public function onUserLogoutComplete( $user, &$inject_html, $oldName ) {
		self::clear( $user->getRequest() );
	}

	/**
	 * Every page request: a cookie that is no longer the logged-in user's, or
	 * whose user lost the right, goes.
	 */
	public function onBeforeInitialize( $title, $unused, $output, $user, $request, $mediaWiki ) {
		$cookie = $request->getCookie( self::cookieName(), '' );
		if ( $cookie === null ) {
			return;
		}
		$id = (int)strtok( $cookie, '.' );
		if ( $id === 0 || $user->getId() !== $id || !$this->permissions->userHasRight( $user, self::RIGHT ) ) {
			self::clear( $request );
		}
	}

	private static function clear( WebRequest $request ): void {
		if ( $request->getCookie( self::cookieName(), '' ) !== null ) {
			$request->response()->clearCookie( self::cookieName(), self::options( $request ) );
		}
	}

	private static function options( WebRequest $request ): array {
		return [
			'prefix' => '',
			'path' => '/',
			'secure' => $request->getProtocol() === 'https',
			'httpOnly' => true,
			'sameSite' => 'Lax',
		];
	}

	private static function cookieName(): string {
		$name = self::env( 'CLEANTALK_TRUSTED_COOKIE' );
		return $name !== '' ? $name : 'ct_trusted';
	}

	/** A setting from the web server's FastCGI parameters, or else the environment. */
	private static function env( string $name ): string {
		$value = $_SERVER[$name] ?? getenv( $name );
		return is_string( $value ) ? $value : '';
	}
}
