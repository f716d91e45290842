# Encrypts the delivery details (receiver name, phone, address) of the orders stored before encryption
# (orders.pii_rekey). Reversing leaves them encrypted (they stay readable).

from django.db import migrations


def encrypt(apps, schema_editor):
    from huitouke.core.pii_fields import pii_cipher
    from huitouke.orders.pii_rekey import orders_reseal

    orders_reseal(model=apps.get_model("orders", "Order"), cipher=pii_cipher())


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_encrypt_delivery_details"),
    ]

    operations = [migrations.RunPython(encrypt, migrations.RunPython.noop)]
