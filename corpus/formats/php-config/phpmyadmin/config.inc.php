<?php
declare(strict_types=1);

$cfg['blowfish_secret'] = '⟦s1:alnum/32!⟧';

$i = 0;
$i++;
$cfg['Servers'][$i]['auth_type'] = 'config';
$cfg['Servers'][$i]['host'] = '⟦h1:host⟧';
$cfg['Servers'][$i]['user'] = 'pma_admin';
$cfg['Servers'][$i]['password'] = '⟦p1:password!⟧';
$cfg['Servers'][$i]['compress'] = false;
$cfg['Servers'][$i]['AllowNoPassword'] = false;

$cfg['UploadDir'] = '';
$cfg['SaveDir'] = '';
