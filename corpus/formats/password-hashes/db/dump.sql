-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: 127.0.0.1    Database: shop
-- ------------------------------------------------------

/*!40101 SET NAMES utf8mb4 */;

DROP TABLE IF EXISTS `users`;
CREATE TABLE `users` (
  `id` int NOT NULL AUTO_INCREMENT,
  `email` varchar(255) NOT NULL,
  `password` varchar(255) NOT NULL,
  `created_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `users` WRITE;
INSERT INTO `users` VALUES (1,'mara@corp.example','⟦h1:bcrypt!⟧','2024-01-03 10:11:12'),(2,'tom@corp.example','⟦h2:bcrypt!⟧','2024-01-04 08:00:00'),(3,'lin@corp.example','⟦h3:argon2!⟧','2024-02-01 09:30:00');
UNLOCK TABLES;
