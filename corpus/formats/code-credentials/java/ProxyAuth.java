package com.corp.ledger.net;

import java.net.Authenticator;
import java.net.PasswordAuthentication;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

public final class ProxyAuth extends Authenticator {
    @Override
    protected PasswordAuthentication getPasswordAuthentication() {
        return new PasswordAuthentication("proxy-ledger", "⟦p1:password!⟧".toCharArray());
    }

    public static Connection ledgerDb() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://⟦h1:host⟧:5432/ledger", "ledger", "⟦p2:password!⟧");
    }

    public static Connection reportsDb() throws SQLException {
        return DriverManager.getConnection("jdbc:sqlserver://⟦h2:host⟧:1433;databaseName=reports;user=reports;password=⟦p3:password!⟧;encrypt=true");
    }

    public static Connection erpDb() throws SQLException {
        return DriverManager.getConnection("jdbc:oracle:thin:erp_read/⟦p4:password!⟧@//⟦h3:host⟧:1521/ERP");
    }

    public static Connection fromEnv() throws SQLException {
        return DriverManager.getConnection(System.getenv("DB_URL"), System.getenv("DB_USER"), System.getenv("DB_PASSWORD"));
    }
}
