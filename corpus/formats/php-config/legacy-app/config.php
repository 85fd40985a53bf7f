<?php
    $dbms = 'mysql';
    $dbhost = '⟦h1:host⟧';
    $dbport = '3306';
    $dbname = 'forum';
    $dbuser = 'forum_rw';
    $dbpasswd = '⟦p1:password!⟧';
    $table_prefix = 'phpbb_';

    $db_pass = "⟦p2:password!⟧";
    $smtp_pass = '⟦p3:password!⟧';
    $connection = mysqli_connect($dbhost, $dbuser, $dbpasswd, $dbname) or die('Connection failed!');
    $password = $_POST['password'];
    $dbpass = getenv('DB_PASS');
?>
