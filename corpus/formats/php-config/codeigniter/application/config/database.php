<?php
defined('BASEPATH') OR exit('No direct script access allowed');

$active_group = 'default';
$query_builder = TRUE;

$db['default'] = array(
	'dsn'	=> '',
	'hostname' => '⟦h1:host⟧',
	'username' => 'ci_app',
	'password' => '⟦p1:password!⟧',
	'database' => 'inventory',
	'dbdriver' => 'mysqli',
	'dbprefix' => '',
	'pconnect' => FALSE,
	'db_debug' => (ENVIRONMENT !== 'production'),
	'char_set' => 'utf8',
	'dbcollat' => 'utf8_general_ci',
);
