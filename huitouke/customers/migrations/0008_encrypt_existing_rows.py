# Encrypts the phone, email, real name and street address of the customers stored before encryption and fills
# their search digests (customers.pii_rekey). Reversing leaves the rows encrypted (they stay readable).

from django.db import migrations


def encrypt(apps, schema_editor):
    from huitouke.core.pii_fields import pii_cipher
    from huitouke.customers.pii_rekey import customers_reseal

    customers_reseal(model=apps.get_model("customers", "Customer"), cipher=pii_cipher())


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_encrypt_contact_data"),
    ]

    operations = [migrations.RunPython(encrypt, migrations.RunPython.noop)]
