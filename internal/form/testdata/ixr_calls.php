<?php
// Prints, as JSON, the method calls WordPress' XML-RPC server makes of
// request bodies, for the tests that hold the Go reader to it. The
// parsing and the dispatch (IXR_Message, IXR_Server::call and multiCall)
// are WordPress' own, loaded from its installation (argv[1], default
// /usr/share/wordpress); only the methods are stand-ins that record their
// arguments.
//
// Input (stdin): a JSON list of base64-encoded bodies. Output: a JSON list
// with, for each body, {"parsed": false} when IXR refuses it, else
// {"parsed": true, "calls": [...], "fatal": bool}, each call
// {"method": name, "fields": [[name, base64(value)], ...]}, named as the Go
// reader names them: methodName, then params[key][key]... for every value
// under a string key, values under integer keys (positions) left out.

$wp = $argv[1] ?? '/usr/share/wordpress';
function apply_filters($hook, $value) { return $value; }
require $wp . '/wp-includes/IXR/class-IXR-date.php';
require $wp . '/wp-includes/IXR/class-IXR-error.php';
require $wp . '/wp-includes/IXR/class-IXR-message.php';
require $wp . '/wp-includes/IXR/class-IXR-server.php';

// The methods a test may call; any other name is unknown to this server.
const METHODS = ['wp.newComment', 'wp.getUsersBlogs', 'pingback.ping', 'demo.sayHello', 'x.y'];

class Recorder extends IXR_Server {
	public $calls = [];
	private $current;

	function __construct() {
		$callbacks = [];
		foreach (METHODS as $i => $name) {
			$callbacks[$name] = 'this:record' . $i;
		}
		parent::__construct($callbacks, false, true);
	}

	function call($methodname, $args) {
		$this->current = $methodname;
		return parent::call($methodname, $args);
	}

	function record($args) {
		$this->calls[] = ['method' => $this->current, 'fields' => fields($this->current, $args)];
		return 1;
	}
	function record0($args) { return $this->record($args); }
	function record1($args) { return $this->record($args); }
	function record2($args) { return $this->record($args); }
	function record3($args) { return $this->record($args); }
	function record4($args) { return $this->record($args); }
}

function fields($method, $args) {
	$out = [['methodName', base64_encode($method)]];
	flatten('params', $args, $out);
	return $out;
}

function flatten($name, $value, &$out) {
	if (!is_array($value)) {
		return;
	}
	foreach ($value as $key => $v) {
		$n = $name . '[' . strtr((string)$key, ['%' => '%25', '[' => '%5B', ']' => '%5D', "\0" => '%00']) . ']';
		if (is_array($v)) {
			flatten($n, $v, $out);
		} elseif (is_string($key) && $key !== '') {
			$out[] = [$n, base64_encode(scalar($v))];
		}
	}
}

function scalar($v) {
	if (is_bool($v)) {
		return $v ? '1' : '';
	}
	if ($v instanceof IXR_Date) {
		return '@date';
	}
	return (string)$v;
}

function calls($body) {
	$message = new IXR_Message($body);
	try {
		if (!$message->parse()) {
			return ['parsed' => false];
		}
	} catch (Throwable $e) {
		return ['parsed' => false]; // a fault message IXR cannot take apart
	}
	$server = new Recorder();
	$fatal = false;
	if ($message->messageType == 'methodCall') {
		try {
			$server->call($message->methodName, $message->params);
		} catch (Throwable $e) {
			$fatal = true;
		}
	}
	return ['parsed' => true, 'calls' => $server->calls, 'fatal' => $fatal];
}

$out = [];
foreach (json_decode(file_get_contents('php://stdin')) as $body) {
	$out[] = calls(base64_decode($body));
}
echo json_encode($out), "\n";
